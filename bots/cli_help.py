"""The ``threadcast`` command's help texts: what each command does, how to pick the agent,
and the variables that matter most (the README's configuration reference has them all)."""

from __future__ import annotations

__all__ = ["COMMANDS", "epilog"]

COMMANDS = {
    "chat": "interactive terminal chat with the agent (reads stdin; works over a pipe)",
    "ask": "ask one question; the reply streams to stdout",
    "slack": "run the Slack bot (Socket Mode or HTTP mode)",
    "discord": "run the Discord bot",
    "playground": "the real Slack and Discord bots against built-in simulators, in your "
    "browser (no token, no network)",
    "usage": "what the agents cost: turns, characters, agent time, errors (from Redis)",
}

_AGENT = """\
the agent (every command but usage):
  THREADCAST_AGENT   lyzr, openai or demo; default: lyzr when LYZR_API_KEY is set,
                     else demo (offline, no key needed)
  LYZR_API_KEY, LYZR_AGENT_ID    the Lyzr agent (LYZR_API_BASE: its API's URL)
  OPENAI_BASE_URL, OPENAI_API_KEY, OPENAI_MODEL    any OpenAI-compatible server
  e.g.  LYZR_API_KEY=… LYZR_AGENT_ID=… threadcast chat
        THREADCAST_AGENT=openai OPENAI_API_KEY=… threadcast ask "hello\""""

_SESSIONS = """\
sessions:
  REDIS_URL          Redis for sessions, locks, dedup (default: an embedded server
                     keeping its data in THREADCAST_DATA_DIR, else
                     ~/.local/share/threadcast)
  THREADCAST_LOG_LEVEL   DEBUG, INFO, WARNING, ERROR or CRITICAL"""

_PER_COMMAND = {
    "chat": """\
the console:
  THREADCAST_ARTIFACT_DIR   where the agent's files are saved
                            (default: ./threadcast-artifacts)
  NO_COLOR=1                plain text instead of Markdown in colour
  /new, /help, /quit; Ctrl-C stops a streaming reply, Ctrl-D quits""",
    "ask": """\
the console:
  THREADCAST_ARTIFACT_DIR   where the agent's files are saved
                            (default: ./threadcast-artifacts)
  NO_COLOR=1                plain text instead of Markdown in colour

exit status: 0 answered, 1 the agent failed, 2 configuration error or message
refused, 3 Redis failed, 130 interrupted (Ctrl-C)""",
    "slack": """\
Slack:
  SLACK_BOT_TOKEN           the bot token (xoxb-…), always
  SLACK_APP_TOKEN           app-level token (xapp-…): Socket Mode
  SLACK_SIGNING_SECRET      HTTP mode instead (events on PORT at /slack/events)
  PORT                      /healthz, /readyz, /metrics (default 3000)""",
    "discord": """\
Discord:
  DISCORD_TOKEN             the bot token
  DISCORD_MESSAGE_CONTENT   true: answer follow-ups without a mention
  PORT                      /healthz, /readyz, /metrics (default 3000)""",
    "playground": """\
the playground:
  --host, --port            where the page is served (default 127.0.0.1:8000)
  --no-browser              only print the URL (default: open it when there is a display)""",
}

_MORE = "Every variable: the README's configuration reference."


def epilog(command: str | None) -> str:
    """The help's closing text for ``command`` (None: the top-level help)."""
    # ``usage`` reads what Redis recorded and calls no agent.
    parts = [_SESSIONS] if command == "usage" else [_AGENT, _SESSIONS]
    if command in _PER_COMMAND:
        parts.append(_PER_COMMAND[command])
    parts.append(_MORE)
    return "\n\n".join(parts)
