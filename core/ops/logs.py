"""Structured logs: one JSON event per line, the turn's ids on every line, secrets scrubbed.

The responder wraps each turn in :func:`turn_context`; the ids live in context variables,
so every line logged while the turn runs carries them — from the relay, the adapters, or
any task the turn starts (asyncio copies the context into new tasks).

Redaction happens in a handler filter, on the formatted message and traceback, so no
call site has to remember it: the values of the secret settings (tokens, signing secret,
API keys, the Redis password, the feedback webhook's path) and anything shaped like a
token (``xoxb-…``, ``xapp-…``, Discord bot tokens, ``Bearer …``, ``sk-…``, a password in a
URL, a Slack or Discord webhook's path) become ``[REDACTED]``.
"""

from __future__ import annotations

import contextlib
import json as _json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import TextIO
from urllib.parse import urlsplit

from core.config import Settings, secret_value

__all__ = [
    "SECRET_ENV",
    "ContextFilter",
    "JsonFormatter",
    "RedactFilter",
    "TextFormatter",
    "agent_context",
    "fatal",
    "log_format",
    "redact",
    "setup_logging",
    "turn_context",
]

REDACTED = "[REDACTED]"

# Secrets read by the platform bots' own settings; their values are scrubbed too.
SECRET_ENV = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "DISCORD_TOKEN",
    "LYZR_API_KEY",
    "OPENAI_API_KEY",
)

_PATTERNS = (
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    # Discord bot tokens: base64 user id . timestamp . HMAC.
    re.compile(r"[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}"),
    re.compile(r"sk-[A-Za-z0-9_-]{16,}"),
)
_BEARER = re.compile(r"(?i)\b(Bearer|Bot)\s+[A-Za-z0-9._~+/=-]{8,}")
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@")
# Webhook URLs carry their credential in the path (an agent's or a tool's, not ours).
_WEBHOOK = re.compile(
    r"(?i)(hooks\.slack\.com/(?:services|workflows|triggers)/|/api/webhooks/\d+/)[^\s'\"<>]+"
)
_API_KEY_HEADER = re.compile(r"(?i)(x-api-key['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+")

# A value this short is not a secret worth a global replace (and would mangle text).
_MIN_SECRET = 6
# A webhook path this long may hold a credential (Slack's and Discord's are ~60-120).
_MIN_SECRET_PATH = 24

_conversation: ContextVar[str | None] = ContextVar("threadcast_conversation", default=None)
_turn: ContextVar[str | None] = ContextVar("threadcast_turn", default=None)
_agent: ContextVar[str | None] = ContextVar("threadcast_agent", default=None)


@contextlib.contextmanager
def turn_context(conversation: str, turn: str) -> Iterator[None]:
    """Tag every log line of this task (and the tasks it starts) with the turn's ids."""
    tokens = (_conversation.set(conversation), _turn.set(turn))
    try:
        yield
    finally:
        _turn.reset(tokens[1])
        _conversation.reset(tokens[0])


@contextlib.contextmanager
def agent_context(agent: str) -> Iterator[None]:
    """Tag every log line of this task (and the tasks it starts) with the agent answering."""
    token = _agent.set(agent)
    try:
        yield
    finally:
        _agent.reset(token)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret value and token-shaped string replaced."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    text = _WEBHOOK.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return _API_KEY_HEADER.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


class ContextFilter(logging.Filter):
    """Copies the turn's ids from the context variables onto the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.conversation = _conversation.get()
        record.turn = _turn.get()
        record.agent = _agent.get()
        return True


class RedactFilter(logging.Filter):
    """Scrubs secrets from a record's message and traceback before any formatter sees it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret containing another is replaced whole.
        self.secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, conversation, turn, agent (, exc)."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for field in ("conversation", "turn", "agent"):
            value = getattr(record, field, None)
            if value is not None:
                event[field] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            event["exc"] = record.exc_text
        if record.stack_info:
            event["stack"] = record.stack_info
        return _json.dumps(event, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The human format (``chat``/``ask``), with the turn's ids when there are some."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(where)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        turn = getattr(record, "turn", None)
        conversation = getattr(record, "conversation", None)
        agent = getattr(record, "agent", None)
        shown = f"{conversation} {turn}" + (f" agent={agent}" if agent else "")
        record.where = f" [{shown}]" if turn else ""
        return super().format(record)


def setup_logging(
    settings: Settings,
    *,
    json: bool,
    stream: TextIO | None = None,
    extra_secrets: Iterable[str] = (),
) -> logging.Handler:
    """Send the process's logs to ``stream`` (stderr) as JSON lines or text, redacted.

    Replaces the root logger's handlers (calling it twice does not log twice); returns the
    handler, so a test can remove it.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter([*_secrets_of(settings), *extra_secrets]))
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    if json:
        # An exception nobody caught ends the process through sys.excepthook, whose
        # default prints a raw multi-line traceback to stderr: lines a collector cannot
        # parse, and unredacted (a token in the exception's message went out as is).
        sys.excepthook = _log_uncaught
        threading.excepthook = _log_uncaught_in_thread  # the same for a thread's end
        # A warning (a coroutine never awaited…) is printed as two raw lines otherwise.
        logging.captureWarnings(True)
    return handler


def log_format(command: str, chosen: str | None) -> str:
    """The log format a command runs with: ``THREADCAST_LOG_FORMAT`` (``chosen``) when it
    names one, else JSON lines for the services (``slack``, ``discord``: a collector reads
    them) and text for a person at a terminal (every other command)."""
    chosen = (chosen or "").strip().lower()
    if chosen in ("json", "text"):
        return chosen
    return "json" if command in ("slack", "discord") else "text"


def fatal(
    message: str,
    *,
    json: bool,
    settings: Settings | None = None,
    extra_secrets: Iterable[str] = (),
) -> None:
    """Say once, on stderr, why the process stops: one JSON line (CRITICAL) when the logs
    are JSON, as the operator's collector parses every line, scrubbed of the secrets
    (``settings``'s, or the environment's alone when the settings could not be read);
    else ``threadcast: message`` for the person at the terminal. Written here, not through
    the root logger: it must be right before :func:`setup_logging` ran, too."""
    if not json:
        print(f"threadcast: {message}", file=sys.stderr)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactFilter([*_secrets_of(settings), *extra_secrets]))
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("threadcast")
    handler.handle(log.makeRecord(log.name, logging.CRITICAL, "", 0, message, (), None))


def _log_uncaught(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    """``sys.excepthook`` for JSON logs: the traceback in one redacted JSON line."""
    logging.getLogger("threadcast").critical(
        "uncaught exception, exiting: %r", error, exc_info=(kind, error, traceback)
    )


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    """``threading.excepthook`` for JSON logs: a thread's uncaught exception in one
    redacted JSON line (the process goes on)."""
    if args.exc_type is SystemExit or args.exc_value is None:
        return  # what the default hook ignores too
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger("threadcast").error(
        "uncaught exception in thread %s: %r", name, args.exc_value, exc_info=args.exc_value
    )


def _secrets_of(settings: Settings | None) -> list[str]:
    found = [os.environ.get(name) for name in SECRET_ENV]
    if settings is None:
        return [value.strip() for value in found if value and value.strip()]
    found += [secret_value(settings.lyzr_api_key), secret_value(settings.openai_api_key)]
    if settings.redis_url:
        found.append(urlsplit(settings.redis_url).password)
    if settings.feedback_url:
        # A Slack or Discord webhook's credential is its path; httpx logs each request's
        # URL at INFO. The host stays readable where the path is long enough to hold a
        # credential; a short one (/threadcast, /events) is secret only after its host:
        # alone it would blank every route and source file path that contains it.
        hook = urlsplit(settings.feedback_url)
        path = hook.path.rstrip("/")
        query = f"?{hook.query}" if hook.query else ""
        if len(path) >= _MIN_SECRET_PATH:
            found += [path + query, path]
        elif path:
            found += [f"{hook.netloc}{path}{query}", f"{hook.netloc}{path}"]
        found.append(hook.query)
    return [value.strip() for value in found if value and value.strip()]
