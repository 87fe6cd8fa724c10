"""The Python that xdist starts each worker with (``--tx popen//python=…``, set by
``tests/conftest.py``): rather than a fresh interpreter that imports pytest, its plugins
and the project again (~2.5 s of CPU apiece), a child of the workers' fork server
(``tests/zygote.py``, profile ``workers``), which imported them once.

Run as ``python -S worker_launcher.py SOCKET -u -c CODE`` (execnet appends ``-u -c CODE``,
its bootstrap, to the command): hands its stdin, stdout and stderr (execnet's pipes, the
terminal) to the child, waits for it to exit and exits likewise. The child dies with this
process (as execnet kills a worker that does not exit: by killing this process). If the
server cannot be reached, or the command is not ``[-u] -c CODE``, it becomes the fresh
interpreter instead (``exec``), as xdist would have started it: never a broken run.

Standard library only, without ``site``: its own start is ~10 ms of CPU.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import NoReturn

sys.path[0] = os.path.dirname(sys.path[0])  # the checkout (this file is in tests/)
from tests import fork_protocol  # noqa: E402


def _fresh(args: list[str]) -> NoReturn:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # (an ignored signal stays so over exec)
    os.execv(sys.executable, [sys.executable, *args])


def main() -> None:
    path, args = sys.argv[1], sys.argv[2:]
    if len(args) < 2 or args[-2] != "-c" or set(args[:-2]) - {"-u"}:
        _fresh(args)
    # Ctrl-C reaches the worker too (the same process group) and it handles it, as a
    # fresh worker would: this process waits for it to exit rather than kill it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    header = {
        "argv": ["-c"],
        "module": None,
        "env": dict(os.environ),
        "cwd": os.getcwd(),
        "setsid": False,
        "ctty": False,
        "code": args[-1],
        "unbuffered": "-u" in args[:-2],
        "linked": True,
    }
    try:
        conn = fork_protocol.request(path, header, [0, 1, 2])
        _, received = fork_protocol.read_answer(conn)  # its pid: it runs
    except (OSError, EOFError):
        _fresh(args)
    try:
        report, _ = fork_protocol.read_answer(conn, received)
        code = os.waitstatus_to_exitcode(report["status"])
    except EOFError:  # the server died: the child's status is lost
        code = -signal.SIGKILL
    if code < 0:  # killed by a signal: so is this process
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    main()
