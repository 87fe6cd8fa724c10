"""Start ``threadcast`` processes for the tests through a fork server (:mod:`tests.zygote`)
that imported the bot stack once, instead of a fresh interpreter that imports it again
(~0.5 s of CPU for each of the suite's ~100 bot processes).

:func:`start` takes what :func:`asyncio.create_subprocess_exec` takes for the commands the
tests run (``sys.executable -m bots.cli …``, the ``threadcast`` script, or ``-m`` one of
``_MODULES``) and returns a
real :class:`asyncio.subprocess.Process`: asyncio's own ``wait``/``communicate``/signals,
over a transport whose pid is the child's (signalled directly) and whose exit status the
server reports (it is the child's parent and reaps it). Any other command, or an
environment whose start-up variables (``PYTHON*``, the locale, the C extensions'
switches) differ from the server's, runs as a fresh process, as before.

One server serves the whole run: :func:`serve` in the run's first process (the xdist
controller; ``tests/conftest.py``) and :func:`use` in its workers. The xdist workers
themselves are forked from a server of their own (:func:`serve_workers`,
``tests/worker_launcher.py``).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tests import fork_protocol

__all__ = ["start"]

ROOT = Path(__file__).parents[1]
THREADCAST = str(Path(sys.executable).parent / "threadcast")
_Stdio = int | IO[Any] | None
# What runs as ``python -m``: the bots' command line, the upload test's probe (a bot's
# relay and surfaces in a process of its own, for its peak memory alone; tracemalloc counts
# only what the child allocates after it starts tracing, never the server's imports), and
# the quota test's workers (two processes on one Redis).
_MODULES = ("bots.cli", "tests.adapters.upload_probe", "tests.governance.quota_worker")


def _startup(env: Mapping[str, str]) -> dict[str, str]:
    """The variables a Python process reads as it starts or imports (not later)."""
    return {
        name: value
        for name, value in env.items()
        if name.startswith(("PYTHON", "LC_")) or name == "LANG" or name.endswith("_NO_EXTENSIONS")
    }


class _Server:
    """One of the run's fork servers (``profile``: what it imports, :mod:`tests.zygote`),
    owned by the process that configured the run (the xdist controller, or the only
    process): its socket listens from the start, and the server is started when the first
    request waits there (by a thread watching the socket), so that a run that never asks
    never pays for its imports. Gone when its owner exits (its stdin, the lifeline,
    closes)."""

    def __init__(self, profile: str = "bots") -> None:
        self.profile = profile
        self.dir = tempfile.mkdtemp(prefix="tc-zygote-")
        self.path = os.path.join(self.dir, "socket")
        self.env = dict(os.environ)
        self.process: subprocess.Popen[bytes] | None = None
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(64)  # requests wait here until the server has imported
        self._wake_r, self._wake_w = os.pipe()
        self._lock = threading.Lock()
        threading.Thread(target=self._start_when_asked, name="fork-server", daemon=True).start()
        atexit.register(self.stop)

    @property
    def address(self) -> dict[str, Any]:
        """What another process of the run needs to use this server (JSON)."""
        return {"path": self.path, "dir": self.dir, "startup": _startup(self.env)}

    def _start_when_asked(self) -> None:
        listening = self._listener.fileno()
        ready, _, _ = select.select([listening, self._wake_r], [], [])
        with self._lock:
            if listening in ready and self._wake_w >= 0:  # (not stopped meanwhile)
                with open(os.path.join(self.dir, "log"), "wb") as log:
                    self.process = subprocess.Popen(
                        [sys.executable, "-m", "tests.zygote", str(self._listener.fileno()),
                         self.profile],
                        pass_fds=[self._listener.fileno()], cwd=ROOT, env=self.env,
                        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log,
                    )  # fmt: skip
            self._listener.close()
            os.close(self._wake_r)

    def stop(self) -> None:
        with self._lock:
            if self._wake_w >= 0:
                with contextlib.suppress(BrokenPipeError):  # (the thread is done already)
                    os.write(self._wake_w, b"x")  # a thread still watching: it stops now
                os.close(self._wake_w)
                self._wake_w = -1
            process, self.process = self.process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class _Address:
    """Where a run's fork server listens, and the start-up environment it imported with."""

    path: str
    dir: str
    startup: dict[str, str]


_owned: _Server | None = None
_owned_workers: _Server | None = None  # the xdist workers' server (the controller's)
_server: _Address | None = None
_reaped_cpu = 0.0  # user+system seconds of this process's forked children that have ended
_running: set[int] = set()  # pids of this process's forked children still running


def serve() -> dict[str, Any]:
    """In the run's first process: own the run's fork server (started when first asked);
    its address, for :func:`use` in the other processes of the run (xdist's workers)."""
    global _owned, _server
    if _owned is None:
        _owned = _Server()
        _server = _Address(**_owned.address)
    return _owned.address


def use(address: Mapping[str, Any]) -> None:
    """In another process of the run: fork from the server :func:`serve` returned."""
    global _server
    _server = _Address(address["path"], address["dir"], dict(address["startup"]))


def serve_workers() -> str:
    """In the xdist controller: own the fork server for the run's workers (started when
    the first asks); the path its launcher (``tests/worker_launcher.py``) connects to."""
    global _owned_workers
    if _owned_workers is None:
        _owned_workers = _Server("workers")
    return _owned_workers.path


def server_path() -> str:
    """Where the run's bots' fork server listens (serving it if nothing does yet)."""
    if _server is None:
        serve()
    assert _server is not None
    return _server.path


def stop() -> None:
    """Stop the servers this process owns, if any (their children are left to end by
    themselves)."""
    for server in (_owned, _owned_workers):
        if server is not None:
            server.stop()


def server_pids() -> list[int]:
    """The pids of the fork servers this process owns, once started."""
    servers = (_owned, _owned_workers)
    return [s.process.pid for s in servers if s is not None and s.process is not None]


def children_cpu() -> tuple[float, set[int]]:
    """The CPU (user+system s) of this process's forked children that ended, and the pids
    of those still running: they are the server's children, not this process's, so
    ``os.times()`` counts neither (see ``tests/cpu_usage.py``)."""
    return _reaped_cpu, set(_running)


def _forkable(argv: tuple[str, ...], env: Mapping[str, str]) -> str | bool | None:
    """The module to run (``-m``), ``None`` for the script, ``False`` to exec instead."""
    if argv[:2] == (sys.executable, "-m") and len(argv) > 2 and argv[2] in _MODULES:
        module: str | None = argv[2]
    elif argv[:1] == (THREADCAST,):
        module = None
    else:
        return False
    if _server is None:
        serve()  # a run without the test suite's hooks (tests/conftest.py): its own
    assert _server is not None
    if _startup(env) != _server.startup:
        return False
    return module


class _Transport(asyncio.SubprocessTransport):
    """What :class:`asyncio.subprocess.Process` asks of its transport, for a child of the
    fork server: its pid, its exit status (read from the server's connection) and its
    pipes."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, conn: socket.socket, pid: int, received: bytes
    ) -> None:
        super().__init__()
        self._loop = loop
        self._conn = conn
        self._pid = pid
        self._returncode: int | None = None
        self._waiters: list[asyncio.Future[int]] = []
        self._buffer = received  # what came after the pid: its status, if it exited at once
        self.pipes: dict[int, asyncio.BaseTransport] = {}
        _running.add(pid)
        if b"\n" in received:
            self._status(received)
        else:
            loop.add_reader(conn.fileno(), self._on_status)

    def _on_status(self) -> None:
        try:
            data = self._conn.recv(4096)
        except BlockingIOError:
            return
        self._buffer += data
        if data and b"\n" not in self._buffer:
            return
        self._loop.remove_reader(self._conn.fileno())
        self._status(data)

    def _status(self, data: bytes) -> None:
        self._conn.close()
        if not data and b"\n" not in self._buffer:  # the server died: as good as killed
            self._exited(-signal.SIGKILL)
            return
        report, _ = fork_protocol.split_answer(self._buffer)
        assert report is not None
        global _reaped_cpu
        _reaped_cpu += report["cpu"]
        self._exited(os.waitstatus_to_exitcode(report["status"]))

    def _exited(self, code: int) -> None:
        _running.discard(self._pid)
        self._returncode = code
        _running.discard(self._pid)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(code)
        self._waiters.clear()

    async def _wait(self) -> int:
        if self._returncode is not None:
            return self._returncode
        waiter: asyncio.Future[int] = self._loop.create_future()
        self._waiters.append(waiter)
        return await waiter

    def get_pid(self) -> int:
        return self._pid

    def get_returncode(self) -> int | None:
        return self._returncode

    def get_pipe_transport(self, fd: int) -> asyncio.BaseTransport | None:
        return self.pipes.get(fd)

    def send_signal(self, signal: int) -> None:
        if self._returncode is not None:
            raise ProcessLookupError  # as asyncio's transport does once the child is reaped
        os.kill(self._pid, signal)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def close(self) -> None:
        for pipe in self.pipes.values():
            pipe.close()

    def is_closing(self) -> bool:
        return self._returncode is not None


class _Streams(asyncio.BaseProtocol):
    """The protocol half :class:`asyncio.subprocess.Process` reads its streams from."""

    def __init__(self) -> None:
        self.stdin: asyncio.StreamWriter | None = None
        self.stdout: asyncio.StreamReader | None = None
        self.stderr: asyncio.StreamReader | None = None


async def start(
    *argv: str,
    env: Mapping[str, str],
    cwd: str | Path | None = None,
    stdin: _Stdio = None,
    stdout: _Stdio = None,
    stderr: _Stdio = None,
    start_new_session: bool = False,
    controlling_terminal: bool = False,
) -> asyncio.subprocess.Process:
    """``asyncio.create_subprocess_exec(*argv, …)``, forked from the server when it can be.
    ``controlling_terminal``: the child (a session leader) takes its stdin, a pty's slave
    side, as its controlling terminal."""
    module = _forkable(argv, env)
    if module is False:
        return await asyncio.create_subprocess_exec(
            *argv, env=env, cwd=cwd, stdin=stdin, stdout=stdout, stderr=stderr,
            start_new_session=start_new_session,
            preexec_fn=_take_terminal if controlling_terminal else None,
        )  # fmt: skip
    assert isinstance(module, str | None) and _server is not None
    loop = asyncio.get_running_loop()
    streams = _Streams()
    ours: list[int] = []  # the parent's ends and what we opened: closed once sent
    pipes: dict[int, int] = {}  # child fd -> our end of its pipe

    def child_fd(target: int, spec: _Stdio) -> int:
        if spec == subprocess.PIPE:
            read, write = os.pipe()
            mine, theirs = (write, read) if target == 0 else (read, write)
            pipes[target] = mine
            ours.append(theirs)
            return theirs
        if spec == subprocess.DEVNULL:
            fd = os.open(os.devnull, os.O_RDWR)
            ours.append(fd)
            return fd
        if spec is None:
            return target  # inherited, as a fresh process would
        if isinstance(spec, int):
            return spec
        return spec.fileno()

    fds = [child_fd(0, stdin), child_fd(1, stdout)]
    fds.append(fds[1] if stderr == subprocess.STDOUT else child_fd(2, stderr))
    spec = {
        "argv": ["-m" if module else argv[0], *argv[3 if module else 1 :]],
        "module": module,
        "env": dict(env),
        "cwd": str(cwd) if cwd is not None else os.getcwd(),
        "setsid": start_new_session,
        "ctty": controlling_terminal,
    }
    try:
        conn = fork_protocol.request(_server.path, spec, fds)
    finally:
        for fd in ours:
            os.close(fd)
    conn.setblocking(False)
    answer, received = None, b""
    while answer is None:
        chunk = await loop.sock_recv(conn, 4096)
        if not chunk:
            conn.close()
            raise RuntimeError(f"the fork server failed: see {_server.dir}/log")
        answer, received = fork_protocol.split_answer(received + chunk)
    transport = _Transport(loop, conn, answer["pid"], received)
    for target, fd in pipes.items():
        reader = asyncio.StreamReader(loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader)  # (drain() needs its flow control)
        made = functools.partial(_same, protocol)
        if target == 0:
            writing, _ = await loop.connect_write_pipe(made, os.fdopen(fd, "wb", 0))
            streams.stdin = asyncio.StreamWriter(writing, protocol, None, loop)
            transport.pipes[target] = writing
        else:
            reading, _ = await loop.connect_read_pipe(made, os.fdopen(fd, "rb", 0))
            setattr(streams, "stdout" if target == 1 else "stderr", reader)
            transport.pipes[target] = reading
    return asyncio.subprocess.Process(transport, streams, loop)


def _same(protocol: asyncio.StreamReaderProtocol) -> asyncio.StreamReaderProtocol:
    return protocol


def _take_terminal() -> None:
    # Runs in the child after setsid (start_new_session): fd 0 is the pty's slave side.
    import fcntl
    import termios

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
