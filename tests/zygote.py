"""A fork server for the test suite's Python processes: imports once what they import, then
forks a child per request, so that each skips those imports. Two kinds, by their preload
(``PROFILE``): ``bots``, the bot stack, for the ``threadcast`` processes the tests start
(~0.5 s of imports each); ``workers``, pytest, its plugins and the whole project, for the
xdist workers themselves (~1.5 s each; :mod:`tests.worker_launcher`).

Run by :mod:`tests.forked` (one of each per test run, started when first asked) as
``python -m tests.zygote FD PROFILE``, FD being a listening Unix socket. A request is one
connection (:mod:`tests.fork_protocol`): what to run (a module, a script or ``-c`` code),
its whole environment, its directory, whether to start a session and take a controlling
terminal, and whether it dies with the connection; with it, the child's stdin, stdout and
stderr as file descriptors. The server answers with the child's pid, and later, on the
same connection, with its wait status and CPU time.

The child is made to look like a fresh ``python -m bots.cli …``, ``threadcast …`` or
``python -u -c …`` (:func:`_become`): the server's sockets and selector closed, default
signal handlers, the environment and directory replaced, ``sys.path[0]``, ``sys.argv``,
``__main__`` and ``sys.std*`` set as the interpreter sets them, and it leaves through the
interpreter's normal exit (atexit handlers, flushing, exit status), not ``os._exit``. What
it shares with its siblings: the modules imported before the fork (nothing in them reads
the environment at import; the clients only send requests whose start-up variables match
the server's; frozen, so the cyclic garbage collector never visits them) and the hash
seed. ``random`` reseeds itself after a fork.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import gc
import io
import os
import runpy
import selectors
import signal
import socket
import sys
import termios
import threading
import types
from dataclasses import dataclass

from tests import fork_protocol, worker_preload

_PRELOAD = (
    "core.config",
    "core.deployment.load",
    "core.ops.logs",
    "bots.slack.app",
    "bots.discord.app",
    "bots.console",
    # What nearly every child imported after the fork (measured): httpx's async backend,
    # the command's help texts, the package-resource readers (the CA bundle), the user
    # database (the console's user name) and bolt's built-in listener matchers.
    "anyio._backends._asyncio",
    "bots.cli_help",
    "importlib.resources.readers",
    "pwd",
    "slack_bolt.listener_matcher.async_builtins",
)


@dataclass
class Spec:
    """What a child runs, received from the client."""

    argv: list[str]
    module: str | None  # ``-m module`` (else argv[0] is a script path, or ``-c``)
    env: dict[str, str]
    cwd: str
    setsid: bool
    ctty: bool
    code: str | None = None  # ``-c code``
    unbuffered: bool = False  # ``-u``
    linked: bool = False  # killed when its client hangs up (the connection closes)


def _preload_bots() -> None:
    # As ``threadcast`` does before its first httpx import (bots.cli.without_httpx_cli).
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    for name in _PRELOAD:
        __import__(name)


def _preload_workers() -> None:
    worker_preload.preload(first=_preload_bots)


_PROFILES = {"bots": _preload_bots, "workers": _preload_workers}


def _serve(listener: socket.socket) -> Spec:
    """Accept requests and reap children until the run ends (stdin closes); returns
    only in a forked child, with what it should run."""
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(sys.stdin.fileno(), selectors.EVENT_READ, "lifeline")
    waiting: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, its connection)
    linked: dict[int, int] = {}  # a linked child's connection's fd -> its pidfd
    while True:
        for key, _ in selector.select():
            if key.data == "lifeline":
                if not os.read(sys.stdin.fileno(), 1024):
                    raise SystemExit(0)
            elif key.data == "accept":
                conn, _ = listener.accept()
                try:
                    header, fds = fork_protocol.receive(conn)
                    spec = Spec(**header)
                except (EOFError, OSError, ValueError, TypeError):
                    conn.close()
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
                fork_protocol.answer(conn, {"pid": pid})
                if spec.linked:
                    linked[conn.fileno()] = pidfd
                    selector.register(conn, selectors.EVENT_READ, "hangup")
            elif key.data == "hangup":
                # The client sends nothing after its request: readable means it is gone.
                pid, conn = waiting[linked.pop(key.fd)]
                selector.unregister(conn)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)  # reaped below, as any child
            else:
                pidfd = key.fd
                pid, conn = waiting.pop(pidfd)
                selector.unregister(pidfd)
                os.close(pidfd)
                if linked.pop(conn.fileno(), None) is not None:
                    selector.unregister(conn)
                _, status, usage = os.wait4(pid, 0)
                # Its CPU (and that of the children it reaped) for the client's accounts:
                # the child is not the client's, so the client's os.times() misses it.
                cpu = usage.ru_utime + usage.ru_stime
                fork_protocol.answer(conn, {"status": status, "cpu": cpu})
                conn.close()


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
    if spec.code is not None:
        sys.path[0] = ""  # as for ``-c``: the current directory
    elif spec.module is not None:
        sys.path[0] = os.getcwd()
    else:
        sys.path[0] = os.path.dirname(spec.argv[0])
    assert isinstance(sys.stdout, io.TextIOWrapper) and isinstance(sys.stderr, io.TextIOWrapper)
    if spec.unbuffered:
        # As ``-u`` makes them: text written through to the unbuffered file.
        for name, fd in (("stdout", 1), ("stderr", 2)):
            old = getattr(sys, name)
            new = io.TextIOWrapper(
                io.FileIO(fd, "w", closefd=False),
                encoding=old.encoding, errors=old.errors, write_through=True,
            )  # fmt: skip
            setattr(sys, name, new)
            setattr(sys, f"__{name}__", new)
    else:
        # The standard streams (the same objects, on the new fds 0-2) buffered as the
        # interpreter would buffer them: stdout by line only on a terminal.
        sys.stdout.reconfigure(line_buffering=os.isatty(1))
        sys.stderr.reconfigure(line_buffering=True)


def _run_code(code: str) -> None:
    """As ``python -c code``: in a fresh ``__main__`` module."""
    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = main
    exec(compile(code, "<string>", "exec"), main.__dict__)


def main() -> None:
    # The run's Ctrl-C (the terminal signals the whole process group) is for the tests'
    # processes to handle, the children included (_become restores it); the server ends
    # when its owner does (its lifeline closes).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    listener = socket.socket(fileno=int(sys.argv[1]))
    fds = set(os.listdir("/proc/self/fd"))
    _PROFILES[sys.argv[2] if len(sys.argv) > 2 else "bots"]()
    # A fork copies only the calling thread: an import that left one running is unsafe;
    # and one that left a file open would share it with every child.
    assert threading.active_count() == 1, threading.enumerate()
    assert set(os.listdir("/proc/self/fd")) == fds, (fds, os.listdir("/proc/self/fd"))
    # What the imports left is the children's for good: frozen, their collections skip it
    # (a full one went through ~100,000 objects, ~0.1 s, and wrote to every page holding
    # one, each a copy-on-write fault), as the gc module's documentation advises for a
    # process that forks without exec.
    gc.collect()
    gc.freeze()
    spec = _serve(listener)
    _become(spec)
    if spec.code is not None:
        _run_code(spec.code)
    elif spec.module is not None:
        sys.modules.pop(spec.module, None)  # as a fresh ``python -m`` has not imported it
        runpy.run_module(spec.module, run_name="__main__", alter_sys=True)
    else:
        runpy.run_path(spec.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
