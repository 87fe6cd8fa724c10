"""The ``threadcast`` command: ``chat``, ``ask``, ``slack``, ``discord``, ``usage``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from core.config import Settings, load_settings
from core.deployment.load import agent_keys, load_deployment
from core.errors import ConfigError, SessionStoreError
from core.ops.logs import setup_logging

__all__ = ["main"]

# Exit statuses: 0 ok, 1 the agent failed, 2 bad configuration or usage, 3 Redis failed.
EXIT_CONFIG = 2
EXIT_STORE = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="threadcast",
        description="Put a streaming AI agent into chat threads (console, Slack, Discord).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    chat = commands.add_parser("chat", help="interactive terminal chat (reads stdin)")
    chat.add_argument("--thread", help="continue this named thread (default: a new one)")
    ask = commands.add_parser("ask", help="ask one question; the reply streams to stdout")
    ask.add_argument("message", help="the message to send to the agent")
    ask.add_argument("--thread", help="continue this named thread across runs")
    commands.add_parser("slack", help="run the Slack bot (Socket Mode or HTTP mode)")
    commands.add_parser("discord", help="run the Discord bot")
    usage = commands.add_parser("usage", help="what the agents cost, from Redis")
    usage.add_argument("--days", type=_positive, default=7, help="UTC days, today included (7)")
    usage.add_argument(
        "--by", choices=("agent", "route", "channel", "user"), default="agent",
        help="one row per agent (default), route, channel or user",
    )  # fmt: skip
    usage.add_argument("--json", action="store_true", help="JSON instead of a table")
    return parser


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        # The configuration file is checked before anything starts (usage only reads Redis).
        keys = () if args.command == "usage" else agent_keys(load_deployment(settings, os.environ))
    except ConfigError as exc:
        print(f"threadcast: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    # Services (slack, discord) log JSON lines for a collector; a person at a terminal
    # (chat, ask) reads text. THREADCAST_LOG_FORMAT overrides either.
    as_json = (settings.log_format or _default_format(args.command)) == "json"
    setup_logging(settings, json=as_json, extra_secrets=keys)
    try:
        return asyncio.run(_run(args, settings))
    except ConfigError as exc:
        print(f"threadcast: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except SessionStoreError as exc:
        print(f"threadcast: {exc}", file=sys.stderr)
        return EXIT_STORE
    except BrokenPipeError:
        # The reader went away (`| head`): exit quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _default_format(command: str) -> str:
    return "json" if command in ("slack", "discord") else "text"


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    # Imported per command so `threadcast chat` never loads the platform SDKs.
    if args.command == "ask":
        from bots.console import run_ask

        return await run_ask(settings, args.message, args.thread)
    if args.command == "chat":
        from bots.console import run_chat

        return await run_chat(settings, args.thread)
    if args.command == "usage":
        from bots.usage import run_usage

        return await run_usage(settings, days=args.days, by=args.by, as_json=args.json)
    if args.command == "slack":
        from bots.slack.app import run_slack

        return await run_slack(settings)
    from bots.discord.app import run_discord

    return await run_discord(settings)


if __name__ == "__main__":
    sys.exit(main())
