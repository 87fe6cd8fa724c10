"""A fork server for the test suite's ``threadcast`` processes: imports the bot stack once,
then forks a child per request, so that each bot a test starts skips ~0.5 s of imports.

Run by :mod:`tests.forked` (one per run, started by the xdist controller for its workers) as
``python -m tests.zygote FD``, FD being a listening Unix socket. A request is one
connection: a length-prefixed JSON header (what to run, its whole environment, its
directory, whether to start a session and take a controlling terminal) and, with it, the
child's stdin, stdout and stderr as file descriptors (SCM_RIGHTS). The server answers with
the child's pid, and later, on the same connection, with its wait status and CPU time.

The child is made to look like a fresh ``python -m bots.cli …`` or ``threadcast …``
(:func:`_become`): the server's sockets and selector closed, default signal handlers, the
environment and directory replaced, ``sys.path[0]``, ``sys.argv`` and ``sys.std*`` set as
the interpreter sets them, and it leaves through the interpreter's normal exit (atexit
handlers, flushing, exit status), not ``os._exit``. What it shares with its siblings: the
modules imported before the fork (nothing in them reads the environment at import; the
client only sends requests whose start-up variables match the server's) and the hash
seed. ``random`` reseeds itself after a fork.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import runpy
import selectors
import signal
import socket
import struct
import sys
import termios
import threading
from dataclasses import dataclass
from typing import Any

_HEADER = struct.Struct("!I")
_PRELOAD = (
    "core.config",
    "core.deployment.load",
    "core.ops.logs",
    "bots.slack.app",
    "bots.discord.app",
    "bots.console",
)


@dataclass
class Spec:
    """What a child runs, received from the client."""

    argv: list[str]
    module: str | None  # ``-m module`` (else argv[0] is a script path)
    env: dict[str, str]
    cwd: str
    setsid: bool
    ctty: bool


def _preload() -> None:
    # As ``threadcast`` does before its first httpx import (bots.cli.without_httpx_cli).
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    for name in _PRELOAD:
        __import__(name)
    # A fork copies only the calling thread: an import that left one running is unsafe.
    assert threading.active_count() == 1, threading.enumerate()


def _recv_exact(conn: socket.socket, size: int, fds: list[int]) -> bytes:
    data = b""
    while len(data) < size:
        chunk, got, _, _ = socket.recv_fds(conn, size - len(data), 3)
        if not chunk:
            raise EOFError
        fds.extend(got)
        data += chunk
    return data


def _serve(listener: socket.socket) -> Spec:
    """Accept requests and reap children until its starter goes (stdin closes); returns
    only in a forked child, with what it should run."""
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "lifeline")
    waiting: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, its connection)
    while True:
        for key, _ in selector.select():
            if key.data == "lifeline":
                if not os.read(sys.stdin.fileno(), 1024):
                    raise SystemExit(0)
            elif key.data == "accept":
                conn, _ = listener.accept()
                fds: list[int] = []
                try:
                    (size,) = _HEADER.unpack(_recv_exact(conn, _HEADER.size, fds))
                    spec = Spec(**json.loads(_recv_exact(conn, size, fds)))
                except (EOFError, OSError, ValueError):
                    conn.close()
                    for fd in fds:
                        os.close(fd)
                    continue
                pid = os.fork()
                if pid == 0:
                    for _, (_, other) in waiting.items():
                        other.close()
                    for pidfd in waiting:
                        os.close(pidfd)
                    selector.close()
                    listener.close()
                    conn.close()
                    _stdio(spec, fds)
                    return spec
                for fd in fds:
                    os.close(fd)
                pidfd = os.pidfd_open(pid)
                waiting[pidfd] = (pid, conn)
                selector.register(pidfd, selectors.EVENT_READ, "child")
                _send(conn, {"pid": pid})
            else:
                pidfd = key.fd
                pid, conn = waiting.pop(pidfd)
                selector.unregister(pidfd)
                os.close(pidfd)
                _, status, usage = os.wait4(pid, 0)
                # Its CPU (with that of the children it reaped), for tests/cpu_usage.py: the
                # child is not in its test's process tree.
                _send(conn, {"status": status, "cpu": usage.ru_utime + usage.ru_stime})
                conn.close()


def _send(conn: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):  # the test is gone: the child is still reaped
        conn.sendall(json.dumps(message).encode() + b"\n")


def _stdio(spec: Spec, fds: list[int]) -> None:
    """In the child: its session and terminal, then fds 0-2 (as subprocess sets them)."""
    if spec.setsid:
        os.setsid()
    stdin, stdout, stderr = fds
    if spec.ctty:
        fcntl.ioctl(stdin, termios.TIOCSCTTY, 0)
    for target, fd in enumerate((stdin, stdout, stderr)):
        os.dup2(fd, target)  # (dup2 clears close-on-exec; fds 0-2 stay open)
    for fd in set(fds):
        if fd > 2:
            os.close(fd)


def _become(spec: Spec) -> None:
    """In the child: everything a fresh interpreter would have set differently."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in signal.valid_signals():
        if sig in (signal.SIGKILL, signal.SIGSTOP):
            continue
        with contextlib.suppress(OSError, ValueError):  # (those Python cannot set)
            signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    os.environ.clear()
    os.environ.update(spec.env)
    os.chdir(spec.cwd)
    sys.argv = list(spec.argv)
    sys.path[0] = os.getcwd() if spec.module is not None else os.path.dirname(spec.argv[0])
    # The standard streams (the same objects, on the new fds 0-2) buffered as the
    # interpreter would buffer them: stdout by line only on a terminal.
    assert isinstance(sys.stdout, io.TextIOWrapper) and isinstance(sys.stderr, io.TextIOWrapper)
    sys.stdout.reconfigure(line_buffering=os.isatty(1))
    sys.stderr.reconfigure(line_buffering=True)


def main() -> None:
    listener = socket.socket(fileno=int(sys.argv[1]))
    _preload()
    spec = _serve(listener)
    _become(spec)
    if spec.module is not None:
        sys.modules.pop(spec.module, None)  # as a fresh ``python -m`` has not imported it
        runpy.run_module(spec.module, run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(spec.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
