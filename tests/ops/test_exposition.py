"""/metrics as a Prometheus server reads it: the text exposition format, checked line by
line and parsed by prometheus_client's own parser, with a sample in every family."""

from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

import core.feedback.service  # noqa: F401  (registers threadcast_feedback_votes)
from core.ops import metrics
from core.usage import metrics as usage_metrics
from core.usage.book import TurnUsage

# A label value that needs every escape the format has: backslash, double quote, newline.
AWKWARD = 'agent "x"\\path\nline2'
# Labels whose values are bounded by configuration or code; ids of users, channels,
# threads or turns would be a new time series each.
BOUNDED_LABELS = {"platform", "status", "kind", "action", "agent", "vote", "reason", "le"}
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")


def exercise_every_family() -> None:
    metrics.turn_started("slack")
    metrics.turn_finished("slack", "failed")
    metrics.agent_failed("slack", "timeout")
    metrics.edit_sent("slack", "post")
    metrics.first_visible("slack", 0.3)
    metrics.text_shown("slack", 4.0)
    metrics.rate_limited(["slack:T1:chat.update"])
    metrics.redis_error()
    metrics.lock_lost()
    metrics.webhook_delivered()
    metrics.webhook_dropped("gave_up")
    usage_metrics.agent_turn(TurnUsage(AWKWARD, "r", "C1", "U1", 10, 20, 1.5, 0.7, True))
    usage_metrics.turn_refused("user_turns")


def check_histogram(name: str, samples: list[Sample]) -> None:
    """Per series: buckets cumulative up to ``+Inf``, which equals ``_count``; a ``_sum``."""
    series: dict[tuple[tuple[str, str], ...], list[Sample]] = {}
    for sample in samples:
        key = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
        series.setdefault(key, []).append(sample)
    assert series, name
    for one in series.values():
        buckets = [s for s in one if s.name == name + "_bucket"]
        counts = [s.value for s in buckets]
        assert counts == sorted(counts), name
        assert buckets[-1].labels["le"] == "+Inf", name
        rest = {s.name: s.value for s in one if s.name != name + "_bucket"}
        assert rest[name + "_count"] == counts[-1], name
        assert name + "_sum" in rest, name


def family_of(sample: str, families: dict[str, str]) -> str:
    for suffix in ("_bucket", "_count", "_sum", ""):
        if sample.endswith(suffix) and sample.removesuffix(suffix) in families:
            return sample.removesuffix(suffix)
    raise AssertionError(f"{sample}: no # TYPE before it")


def test_metrics_are_valid_prometheus_text() -> None:
    exercise_every_family()
    text = metrics.exposition().decode()
    assert text.endswith("\n")
    helps: set[str] = set()
    types: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ")[2]
            assert name not in helps, f"HELP twice: {name}"
            helps.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name not in types, f"TYPE twice: {name}"
            assert name in helps, f"TYPE before HELP: {name}"
            types[name] = kind
        else:
            match = SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            family_of(match.group(1), types)
    for name, kind in types.items():
        if kind == "counter":
            assert name.endswith("_total"), name

    parsed = {family.name: family for family in text_string_to_metric_families(text)}
    assert "threadcast_turns_started" in parsed  # the parser names counters without _total
    for family in parsed.values():
        for sample in family.samples:
            assert set(sample.labels) <= BOUNDED_LABELS, (sample.name, sample.labels)
        if family.type == "histogram":
            check_histogram(family.name, family.samples)
    # No _created series beside each counter and histogram: it doubled the series count.
    assert not [line for line in text.splitlines() if "_created" in line]
    agents = {s.labels.get("agent") for s in parsed["threadcast_agent_turns"].samples}
    assert AWKWARD in agents  # escaped on the way out, the same value after parsing
