"""The ``threadcast usage`` table: figures per agent, route, channel or user over N days."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

__all__ = [
    "UsageRow",
    "feedback_table",
    "last_days",
    "rows_of",
    "to_json",
    "to_table",
    "total_of",
]


@dataclass(frozen=True, slots=True)
class UsageRow:
    key: str
    turns: int
    chars_in: int
    chars_out: int
    agent_seconds: float
    mean_first_token_seconds: float | None
    errors: int


def last_days(count: int, today: datetime.date | None = None) -> list[datetime.date]:
    """``count`` UTC days ending today, oldest first."""
    end = today or datetime.datetime.now(datetime.UTC).date()
    return [end - datetime.timedelta(days=back) for back in range(count - 1, -1, -1)]


def rows_of(totals: Mapping[str, Mapping[str, int]]) -> list[UsageRow]:
    """One row per value, most turns first."""
    rows = [_row(key, figures) for key, figures in totals.items()]
    return sorted(rows, key=lambda row: (-row.turns, row.key))


def _row(key: str, figures: Mapping[str, int]) -> UsageRow:
    first_tokens = figures.get("ttft_n", 0)
    mean = figures.get("ttft_ms", 0) / first_tokens / 1000 if first_tokens else None
    return UsageRow(
        key=key,
        turns=figures.get("turns", 0),
        chars_in=figures.get("chars_in", 0),
        chars_out=figures.get("chars_out", 0),
        agent_seconds=figures.get("agent_ms", 0) / 1000,
        mean_first_token_seconds=mean,
        errors=figures.get("errors", 0),
    )


_HEADERS = ("turns", "chars in", "chars out", "agent s", "first token s", "errors")


def to_table(rows: Sequence[UsageRow], by: str, total: UsageRow | None = None) -> str:
    """Aligned columns, the key first; ``total`` last when there are several rows."""
    if not rows:
        return f"no usage recorded (by {by})\n"
    lines = [(row.key, *_cells(row)) for row in rows]
    if total is not None and len(rows) > 1:
        lines.append((total.key, *_cells(total)))
    header = (by, *_HEADERS)
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    out = []
    for key, *cells in [header, *lines]:
        padded = (cell.rjust(width) for cell, width in zip(cells, widths[1:], strict=True))
        out.append("  ".join([key.ljust(widths[0]), *padded]))
    return "\n".join(out) + "\n"


def to_json(
    rows: Sequence[UsageRow],
    by: str,
    days: Sequence[datetime.date],
    *,
    feedback: Mapping[str, Mapping[str, int]] | None = None,
) -> str:
    return json.dumps(
        {
            "by": by,
            "from": days[0].isoformat() if days else None,
            "to": days[-1].isoformat() if days else None,
            "rows": [asdict(row) for row in rows],
            "feedback": {agent: dict(votes) for agent, votes in (feedback or {}).items()},
        },
        indent=2,
    )


def feedback_table(votes: Mapping[str, Mapping[str, int]]) -> str:
    """Votes standing on each agent's replies (all time: they expire with their reply)."""
    lines = [("feedback", "👍 up", "👎 down")]
    for agent in sorted(votes):
        figures = votes[agent]
        lines.append((agent or "-", str(figures.get("up", 0)), str(figures.get("down", 0))))
    widths = [max(len(line[i]) for line in lines) for i in range(3)]
    out = [
        "  ".join([key.ljust(widths[0]), up.rjust(widths[1]), down.rjust(widths[2])])
        for key, up, down in lines
    ]
    return "\n".join(out) + "\n"


def _cells(row: UsageRow) -> tuple[str, ...]:
    first = row.mean_first_token_seconds
    return (
        str(row.turns),
        str(row.chars_in),
        str(row.chars_out),
        f"{row.agent_seconds:.1f}",
        "-" if first is None else f"{first:.2f}",
        str(row.errors),
    )


def total_of(totals: Mapping[str, Mapping[str, int]]) -> UsageRow:
    """Every value's figures summed (the mean first token over every timed turn)."""
    summed: dict[str, int] = {}
    for figures in totals.values():
        for figure, count in figures.items():
            summed[figure] = summed.get(figure, 0) + count
    return _row("total", summed)
