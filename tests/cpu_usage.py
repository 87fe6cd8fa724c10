"""A pytest plugin that records the CPU each test costs, to find where the suite's time goes.

Not loaded by default: ``uv run pytest -p tests.cpu_usage`` writes one JSON line per test
to ``$THREADCAST_CPU_LOG`` (default ``cpu-usage.jsonl`` in the current directory; each
xdist worker appends its own lines) and prints the costliest modules and tests at the end.

A test's CPU is its worker's user+system time plus that of every process the worker
started (read from ``/proc``): the children still running (a bot subprocess, the worker's
redis-server, a browser) and those already reaped (their time is in the worker's
``children_*`` times), and the bots forked for it by the run's fork server
(``tests/forked.py``; the server's children, not the worker's: read from ``/proc`` while
they run, as the server reports it once they end). Processes that leave the worker's tree
(podman's containers run under ``conmon``, re-parented to init) are not counted; nor is
the time of a background thread building images (``tests/deploy/images.py``) told apart
from the test beside it.

Each process of the run also logs one ``session`` line: the CPU it spent before its first
test (start-up, imports, collection) and in all (its tree's, as above, at its end), so that
what no test accounts for (each worker's start, the controller) shows in the summary too.
A worker forked from the workers' fork server (``tests/worker_launcher.py``) counts from
its fork (a child's CPU times start at zero), so what the server imported for it is not
its own: the controller's line counts the fork servers' own CPU (not their children's, the
workers and bots, counted by the workers). Each worker's launcher (~20-30 ms, the
controller's child) is counted nowhere.
Reading ``/proc`` twice a test costs the plugin itself ~20 s of CPU over the suite: that is
left out of every figure (which would otherwise count it as the tests' and, for the half read
after each test, as the workers' time outside tests) and reported on its own line.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Generator
from pathlib import Path

import pytest

from tests import forked

_TICKS = os.sysconf("SC_CLK_TCK")
_LOG = Path(os.environ.get("THREADCAST_CPU_LOG", "cpu-usage.jsonl"))


# This plugin's own CPU so far: reading /proc costs ~3-5 ms a call, twice a test, which
# would otherwise show as the tests' and (the half after each test's end is read) as the
# workers' time "outside tests"; left out of both and reported apart.
_overhead = [0.0]


def _tree_cpu() -> float:
    """This process's tree CPU so far, less what this plugin spent measuring it."""
    began = time.process_time()
    cpu = _measure_tree_cpu() - _overhead[0]
    _overhead[0] += time.process_time() - began
    return cpu


def _measure_tree_cpu() -> float:
    me = os.times()
    reaped, running = forked.children_cpu()
    total = me.user + me.system + me.children_user + me.children_system + reaped
    stats = {}  # pid -> (ppid, utime + stime + cutime + cstime in ticks), from /proc
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile: its time is in its parent's children_* (if reaped)
            stats[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    # This process's children forked by the run's fork server count as its own.
    ticks = sum(stats[pid][1] for pid in running if pid in stats)
    mine = {os.getpid(), *running}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, used) in stats.items():
            if pid not in mine and ppid in mine:
                mine.add(pid)
                ticks += used
                grew = True
    return total + ticks / _TICKS


def _own_cpu(pid: int | None) -> float:
    """The user+system CPU of process ``pid`` itself (not its children's)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:13]) / _TICKS


_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
_before_tests: list[float] = []  # this process's tree CPU when its first test started


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and _LOG.exists():
        _LOG.unlink()  # the controller (or a run without xdist) starts a fresh log


def _log(record: dict[str, object]) -> None:
    with _LOG.open("a") as log:
        log.write(json.dumps(record) + "\n")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # After the session's fixtures (the worker's Redis) are gone; a worker's own start
    # (interpreter, imports, collection) is in ``startup``.
    worker = hasattr(session.config, "workerinput")
    me = os.times()
    # The controller: its own CPU and the fork servers' own (not their children's: the
    # bots' and the workers', counted by the workers).
    servers = sum(_own_cpu(pid) for pid in forked.server_pids())
    total = _tree_cpu() if worker else me.user + me.system + servers
    start = _before_tests[0] if _before_tests else total
    role = "worker" if worker else "controller"
    _log(
        {
            "session": role,
            "worker": _WORKER,
            "startup": round(start, 3),
            "cpu": round(total, 3),
            "measuring": round(_overhead[0], 3),
        }
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None]:
    cpu, wall, start = _tree_cpu(), time.monotonic(), time.time()
    if not _before_tests:
        _before_tests.append(cpu)
    yield
    record = {
        "nodeid": item.nodeid,
        "start": round(start, 3),  # wall-clock, to lay the workers' tests on one timeline
        "cpu": round(_tree_cpu() - cpu, 3),
        "wall": round(time.monotonic() - wall, 3),
        "worker": _WORKER,
    }
    _log(record)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if hasattr(terminalreporter.config, "workerinput") or not _LOG.exists():
        return
    lines = [json.loads(line) for line in _LOG.read_text().splitlines() if line]
    records = [r for r in lines if "nodeid" in r]
    sessions = [r for r in lines if "session" in r]
    modules: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for r in records:
        m = modules[r["nodeid"].split("::", 1)[0]]
        m[0] += r["cpu"]
        m[1] += r["wall"]
        m[2] += 1
    write = terminalreporter.write_line
    total = sum(r["cpu"] for r in records)
    write(f"CPU (test processes and their children): {total:.1f} s over {len(records)} tests")
    workers = [r for r in sessions if r["session"] == "worker"]
    if workers:
        startup = sum(r["startup"] for r in workers)
        whole = sum(r["cpu"] for r in workers)
        write(
            f"workers ({len(workers)}): {whole:.1f} s in all, {startup:.1f} s of it before"
            f" their first test, {whole - startup - total:.1f} s outside tests afterwards"
        )
        measuring = sum(r.get("measuring", 0.0) for r in workers)
        write(f"  (not counted above: {measuring:.1f} s this plugin spent reading /proc)")
    for r in sessions:
        if r["session"] == "controller":
            write(f"controller: {r['cpu']:.1f} s (its own and the fork servers')")
    write("costliest modules (cpu s, wall s, tests):")
    for name, (cpu, wall, n) in sorted(modules.items(), key=lambda kv: -kv[1][0])[:40]:
        write(f"  {cpu:7.1f} {wall:7.1f} {n:4d}  {name}")
    write("costliest tests (cpu s, wall s):")
    for r in sorted(records, key=lambda r: -r["cpu"])[:40]:
        write(f"  {r['cpu']:7.1f} {r['wall']:7.1f}  {r['nodeid']}")
