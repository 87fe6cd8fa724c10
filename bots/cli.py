"""The ``threadcast`` command: ``chat``, ``ask`` (and the platform bots as they land)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from core.config import Settings, load_settings
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
    _add_playground(commands)
    return parser


def _add_playground(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    playground = commands.add_parser(
        "playground",
        help="the real Slack and Discord bots against local simulators, in your browser",
        description="Run the real Slack and Discord bots against built-in simulators (no "
        "token, no network) and show both in a web page. The agent is the demo agent unless "
        "LYZR_API_KEY and LYZR_AGENT_ID (or THREADCAST_AGENT=openai) are set.",
    )
    playground.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    playground.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    playground.add_argument(
        "--no-browser", action="store_true", help="do not open the page in a browser"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"threadcast: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    # Services (slack, discord) log JSON lines for a collector; a person at a terminal
    # (chat, ask) reads text. THREADCAST_LOG_FORMAT overrides either.
    as_json = (settings.log_format or _default_format(args.command)) == "json"
    setup_logging(settings, json=as_json)
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
    if args.command == "playground":
        from bots.playground.app import run_playground

        return await run_playground(
            settings, host=args.host, port=args.port, open_browser=not args.no_browser
        )
    if args.command == "slack":
        from bots.slack.app import run_slack

        return await run_slack(settings)
    from bots.discord.app import run_discord

    return await run_discord(settings)


if __name__ == "__main__":
    sys.exit(main())
