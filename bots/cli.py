"""The ``threadcast`` command: ``chat``, ``ask``, ``slack``, ``discord``,
``playground``, ``usage``.

Every command's ``--help`` ends with how to pick the agent and the variables that matter
most (:mod:`bots.cli_help`); exit statuses are in :mod:`bots.exit_status`.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from bots import exit_status
from bots.cli_help import COMMANDS, epilog
from bots.event_loop import loop_factory
from core.errors import ConfigError, SessionStoreError, SurfaceError

if TYPE_CHECKING:
    from core.config import Settings

__all__ = ["main", "without_httpx_cli"]

_CONSOLE = ("chat", "ask")
_QUIET = "CRITICAL"
"""The console's log level unless THREADCAST_LOG_LEVEL is set: what goes wrong is shown
once, as one line, by the command itself; logs would say it again."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="threadcast",
        description="Put a streaming AI agent into chat threads (console, Slack, Discord).",
        epilog=epilog(None),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"threadcast {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, summary in COMMANDS.items():
        command = commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=epilog(name),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == "ask":
            command.add_argument("message", help="the message to send to the agent")
            command.add_argument("--thread", help="continue this named thread across runs")
        elif name == "chat":
            command.add_argument("--thread", help="continue this named thread (default: new)")
        elif name == "playground":
            command.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
            command.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
            command.add_argument(
                "--no-browser", action="store_true", help="do not open the page in a browser"
            )
        elif name == "usage":
            command.add_argument(
                "--days", type=_positive, default=7, help="UTC days, today included (7)"
            )
            command.add_argument(
                "--by",
                choices=("agent", "route", "channel", "user"),
                default="agent",
                help="one row per agent (default), route, channel or user",
            )
            command.add_argument("--json", action="store_true", help="JSON instead of a table")
    return parser


def _version() -> str:
    try:
        return version("threadcast")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _whole(value: str) -> int:
    # argparse names the type function in its message for a ValueError ("invalid
    # _positive value"): say what is wanted instead.
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number (got {value!r})") from None


def _positive(value: str) -> int:
    number = _whole(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _port(value: str) -> int:
    # Out of range it was an OverflowError traceback from bind().
    number = _whole(value)
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port, 0 to 65535 (got {number})")
    return number


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Imported once a command runs (not for --help, --version or a usage error), and each
    # command imports only its own stack in _run: most of a start's CPU is imports.
    without_httpx_cli()
    from core.config import load_settings
    from core.deployment.load import agent_keys, load_deployment
    from core.ops.logs import fatal, log_format, setup_logging

    try:
        settings = load_settings()
        # The configuration file is checked before anything starts (usage only reads Redis).
        keys = () if args.command == "usage" else agent_keys(load_deployment(settings, os.environ))
    except ConfigError as exc:
        chosen = os.environ.get("THREADCAST_LOG_FORMAT")  # the settings could not be read
        fatal(f"configuration error: {exc}", json=log_format(args.command, chosen) == "json")
        return exit_status.CONFIG
    # Services (slack, discord) log JSON lines for a collector; a person at a terminal
    # (chat, ask) reads text, and only when asked for (THREADCAST_LOG_LEVEL).
    as_json = log_format(args.command, settings.log_format) == "json"
    logged = settings
    if args.command in _CONSOLE and "log_level" not in settings.model_fields_set:
        logged = settings.model_copy(update={"log_level": _QUIET})
    setup_logging(logged, json=as_json, extra_secrets=keys)
    last_line = functools.partial(fatal, json=as_json, settings=settings, extra_secrets=keys)
    try:
        with asyncio.Runner(loop_factory=loop_factory(args.command, settings.event_loop)) as run:
            return run.run(_run(args, settings))
    except ConfigError as exc:
        last_line(f"configuration error: {exc}")
        return exit_status.CONFIG
    except SessionStoreError as exc:
        last_line(str(exc))
        return exit_status.STORE_FAILED
    except SurfaceError as exc:  # the console's output failed (a full disk, a dead terminal)
        last_line(str(exc))
        return exit_status.AGENT_FAILED
    except BrokenPipeError:
        # The reader went away (`| head`): exit quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exit_status.OK


def without_httpx_cli() -> None:
    """Keep httpx from importing its command-line tool (click, rich's console and progress,
    pygments' lexers: ~10 % of a bot's start-up CPU), which it does on import whenever click
    is installed, as in the development environment. ``None`` in :data:`sys.modules` makes
    ``import httpx._main`` raise ImportError, which httpx handles as its CLI extra not being
    installed; this process never runs httpx's CLI. Called before httpx is first imported
    (later it changes nothing); the test suite's workers call it too."""
    # typeshed types sys.modules without the None that the import system documents.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    # Imported per command so `threadcast chat` never loads the platform SDKs.
    if args.command == "ask":
        from bots.console import run_ask

        return await run_ask(settings, args.message, args.thread)
    if args.command == "chat":
        from bots.console import run_chat

        return await run_chat(settings, args.thread)
    if args.command == "playground":
        from bots.playground.app import run_playground

        return await run_playground(
            settings, host=args.host, port=args.port, open_browser=not args.no_browser
        )
    if args.command == "usage":
        from bots.usage import run_usage

        return await run_usage(settings, days=args.days, by=args.by, as_json=args.json)
    from core.ops import heap

    loop = type(asyncio.get_running_loop())
    logging.getLogger(__name__).info("event loop: %s.%s", loop.__module__, loop.__qualname__)
    with heap.serving():  # a service: fewer collections once started
        if args.command == "slack":
            from bots.slack.app import run_slack

            return await run_slack(settings)
        from bots.discord.app import run_discord

        return await run_discord(settings)


if __name__ == "__main__":
    sys.exit(main())
