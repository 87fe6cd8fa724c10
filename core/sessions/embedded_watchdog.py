"""The embedded Redis server's supervisor: runs ``redis-server`` as its child and shuts it
down once no threadcast process has used it for ``IDLE`` seconds.

:class:`core.sessions.embedded.EmbeddedRedis` starts this file by path (``python -I``, so
it imports nothing but the standard library and starts in a few milliseconds) in a session
of its own: a terminal's Ctrl-C (SIGINT to its foreground process group) or hang-up
(SIGHUP) reaches neither this process nor the server. Usage::

    python -I embedded_watchdog.py DATA_DIR IDLE -- REDIS_SERVER [ARGS...]

Every process using the server holds a shared ``flock`` on ``DATA_DIR/clients.lock`` (its
lease; the kernel drops it when the process ends, however it ends). This watchdog holds an
exclusive ``flock`` on ``DATA_DIR/watchdog.lock`` for as long as it lives, which tells
starters that the running server is supervised. Every ``POLL`` seconds it tries an
exclusive lock on ``clients.lock``: success means no lease is held. Once that has been so
for ``IDLE`` seconds it keeps the exclusive lock (no process can take a lease meanwhile),
stops the server with SIGTERM (Redis flushes the append-only file and removes its socket),
reaps it and exits, releasing both locks. When the server exits by itself, so does this.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time

CLIENTS_LOCK = "clients.lock"
WATCHDOG_LOCK = "watchdog.lock"
POLL = 0.1
"""Seconds between two looks at the leases and the server."""
STOP_TIMEOUT = 10.0
"""Seconds the server gets to exit after SIGTERM before it is killed."""


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[3] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    data_dir, idle, command = argv[1], float(argv[2]), argv[4:]
    guard = _open(os.path.join(data_dir, WATCHDOG_LOCK))
    # A few tries: a process checking whether a watchdog runs holds the lock for a moment.
    deadline = time.monotonic() + 1.0
    while not _try_exclusive(guard):
        if time.monotonic() > deadline:
            print("another watchdog supervises this data directory", file=sys.stderr)
            return 1
        time.sleep(0.01)
    clients = _open(os.path.join(data_dir, CLIENTS_LOCK))
    terminated: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: terminated.append(signum))
    for ignored in (signal.SIGINT, signal.SIGHUP):
        signal.signal(ignored, signal.SIG_IGN)
    server = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _supervise(server, clients, idle, terminated)
    return _stop(server)


def _supervise(
    server: subprocess.Popen[bytes], clients: int, idle: float, terminated: list[int]
) -> None:
    """Return when the server should stop (idle, or SIGTERM) or has exited."""
    idle_since: float | None = None
    while server.poll() is None and not terminated:
        if _try_exclusive(clients):
            now = time.monotonic()
            idle_since = now if idle_since is None else idle_since
            if now - idle_since >= idle:
                return  # the exclusive lock stays held until this process exits
            fcntl.flock(clients, fcntl.LOCK_UN)
        else:
            idle_since = None
        time.sleep(POLL)


def _stop(server: subprocess.Popen[bytes]) -> int:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return 0 if server.returncode in (0, -signal.SIGTERM) else 1


def _try_exclusive(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _open(path: str) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
