"""The launcher xdist starts its workers with (``tests/worker_launcher.py``): its child, forked
from a fork server, runs ``-u -c CODE`` as a fresh interpreter would, exits as the
launcher's exit status, dies with the launcher, and without a server the launcher runs
the fresh interpreter itself. Here the server is the run's bots' one (``tests/forked.py``),
which runs children alike and costs less to start than the workers'.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from pathlib import Path

from bots.simulators.waiting import WAIT
from tests import forked

_LAUNCHER = str(Path(__file__).with_name("worker_launcher.py"))
_REPORT = """
import json, os, signal, sys
sys.stdout.write(json.dumps({
    "argv": sys.argv, "path0": sys.path[0], "name": __name__, "cwd": os.getcwd(),
    "env": os.environ.get("LAUNCHER_TEST"), "ppid": os.getppid(), "pid": os.getpid(),
    "sigint": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
}))  # no newline: seen at once only if unbuffered (-u)
sys.stdin.read()
sys.exit(3)
"""


def _launch(path: str, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-S", _LAUNCHER, path, "-u", "-c", _REPORT],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=cwd,
        env={**os.environ, "LAUNCHER_TEST": "yes"},
    )  # fmt: skip


def _report(launcher: subprocess.Popen[bytes]) -> dict[str, object]:
    """The child's report, read as soon as it is written (before the child exits)."""
    assert launcher.stdout is not None
    data = b""
    while True:
        chunk = os.read(launcher.stdout.fileno(), 4096)
        assert chunk, f"the child ended without its report: {data!r}"
        data += chunk
        try:
            report = json.loads(data)
        except ValueError:
            continue
        assert isinstance(report, dict)
        return report


def test_a_test_module_is_imported_with_its_asserts_rewritten() -> None:
    # (Forked workers import the test modules in their fork server: still rewritten.)
    assert "@py_builtins" in globals()


def test_the_child_runs_the_code_as_a_fresh_python(tmp_path: Path) -> None:
    launcher = _launch(forked.server_path(), tmp_path)
    report = _report(launcher)
    assert report["ppid"] != launcher.pid  # forked by the server
    assert report["argv"] == ["-c"]
    assert report["path0"] == ""
    assert report["name"] == "__main__"
    assert report["cwd"] == str(tmp_path)
    assert report["env"] == "yes"
    assert report["sigint"]
    assert launcher.stdin is not None
    launcher.stdin.close()
    assert launcher.wait() == 3  # the child's exit status


def test_the_child_dies_with_its_launcher(tmp_path: Path) -> None:
    launcher = _launch(forked.server_path(), tmp_path)
    report = _report(launcher)
    assert isinstance(report["pid"], int)
    child = os.pidfd_open(report["pid"])
    try:
        launcher.kill()
        launcher.wait()
        # Readable once the child has exited (the tests' usual generous bound).
        readable, _, _ = select.select([child], [], [], WAIT)
        assert readable == [child]
    finally:
        os.close(child)


def test_without_a_server_the_launcher_runs_a_fresh_python(tmp_path: Path) -> None:
    launcher = _launch(str(tmp_path / "no-server"), tmp_path)
    report = _report(launcher)
    assert report["pid"] == launcher.pid  # the launcher itself, exec'd
    assert report["argv"] == ["-c"]
    assert report["env"] == "yes"
    assert launcher.stdin is not None
    launcher.stdin.close()
    assert launcher.wait() == 3
    assert report["sigint"]  # (the launcher ignores it while it waits: not so its exec)
