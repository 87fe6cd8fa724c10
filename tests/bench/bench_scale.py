"""Scale run across replicas (issue 15, part 3), in real time, on one machine.

    uv run python tests/bench/bench_scale.py [--conversations 100] [--duration 30]
                                             [--channels 20] [--no-kill]

Processes: one Redis; 4 Slack replicas (real ``threadcast slack`` processes, HTTP mode,
one app in one workspace, ``THREADCAST_SHARED_BUDGETS=true``) behind a small round-robin
proxy (as a load balancer: a replica that refuses the connection is skipped); 2 Discord
shards (real ``threadcast discord`` processes, ``DISCORD_SHARD_ID`` 0 and 1 of 2); in this
process the Slack and Discord simulators (their default rate limits), the proxy, and a
Lyzr-format agent streaming every reply for ``--duration`` seconds at 20 chunks/s.

``--conversations`` N start at once, half on Slack (mentions spread over ``--channels``
channels of the workspace), half on Discord: mentions spread over ``--channels`` guild
channels (each opens a thread; the guild is on shard 1) and DMs from distinct users (Discord
sends DMs to shard 0), so both shards stream. Halfway through the replies one Slack replica
is SIGKILLed: its replies are orphans, to be finalised by another replica.

Figures: replies complete (target: all but the orphans, which end with the restart notice),
duplicate replies (0; also: a message asked of the agent twice), 429s (<= 1 % of calls), p99
staleness (chunk emitted -> first API call showing it) against 1.25 x max(1 s, N/B) + 0.1 s
per budget scope, orphans finalised within THREADCAST_RECOVERY_TTL + _INTERVAL + that
bound, Redis commands/s (INFO commandstats; instantaneous_ops_per_sec sampled each second)
and Redis CPU, and each process's CPU and RSS.
Not part of the test suite (pytest does not collect tests/bench).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import tempfile
import time
from collections import defaultdict
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.discord.stop_button import STOP_CUSTOM_ID
from adapters.slack.blocks import STOP_ACTION_ID
from bots.simulators.discord import DiscordSimulator, SimUser
from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.blocks import find_action
from bots.simulators.slack.http_delivery import HttpDelivery
from tests.bench._common import cpu_note, peak_rss, staleness
from tests.bench.scale_agent import ScaleAgent
from tests.bench.scale_fleet import Bot, Proxy, RedisUse, process_use, start_bot
from tests.bench.slack_calls import NUMBER, slack_shown
from tests.redis_server import start_test_redis

RATE = 20.0  # chunks per second
FIRST_TOKEN = 0.3  # the agent's time to its first chunk
SLACK_REPLICAS = 4
DISCORD_SHARDS = 2
RECOVERY_TTL, RECOVERY_INTERVAL = 15.0, 5.0  # the product's defaults
SLACK_UPDATES_PER_S = 50 / 60  # chat.update, Tier 3, per workspace (SLACK_UPDATE_PER_MINUTE)
DISCORD_THREAD_PER_S = 4 / 5  # the bot's per-channel budget (one short of Discord's 5 / 5 s)
DISCORD_GLOBAL_PER_S = 46.0  # the bot's global budget (Discord: 50/s per token)
INDICATOR = "▍"
NOTICE_WORDS = "cut off because the bot restarted"  # ORPHAN_NOTICE: it had streamed
UNANSWERED_WORDS = "restarted before it could answer"  # UNANSWERED_NOTICE: "send it again"


@dataclass
class Conversation:
    rid: str  # the reply's id: the text the user sent
    platform: str  # "slack" | "discord"
    channel: str  # Slack channel id; Discord: the channel the reply lives in
    thread: str = ""  # Slack thread ts
    started: float = 0.0


@dataclass
class Outcome:
    complete: bool = False
    orphan: bool = False  # cut off by the kill, ended with the restart notice
    unanswered: bool = False  # the kill came before it showed anything: "send it again"
    silent: bool = False  # the user got nothing at all
    duplicates: int = 0
    asked: int = 0  # how many times the agent was asked this message
    staleness: tuple[float, ...] = ()
    finalised_after_kill: float | None = None  # orphans: kill -> the notice shown


# --- the run -----------------------------------------------------------------------------


def common_env(
    redis_url: str, agent: ScaleAgent, conversations: int, log_level: str
) -> dict[str, str]:
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "THREADCAST_AGENT": "lyzr",
        "LYZR_API_KEY": agent.api_key,
        "LYZR_AGENT_ID": "scale-bench",
        "LYZR_API_BASE": agent.url,
        "AGENT_RETRIES": "0",
        "AGENT_MAX_CONNECTIONS": str(max(100, conversations)),
        "THREADCAST_SHARED_BUDGETS": "true",
        "THREADCAST_RECOVERY_TTL": str(RECOVERY_TTL),
        "THREADCAST_RECOVERY_INTERVAL": str(RECOVERY_INTERVAL),
        "THREADCAST_SHUTDOWN_GRACE": "1",
        "THREADCAST_LOG_FORMAT": "json",
        "THREADCAST_LOG_LEVEL": log_level,
    }
    for name in ("SLACK_APP_TOKEN", "THREADCAST_CONFIG"):
        env.pop(name, None)
    return env


def discord_sim() -> DiscordSimulator:
    """A simulator whose guild lands on shard 1 (``(guild_id >> 22) % 2``): shard 0 takes the
    DMs, so both shards carry replies. Guild ids carry their creation millisecond."""
    while True:
        sim = DiscordSimulator()
        if (sim.world.guild_id >> 22) % DISCORD_SHARDS == 1:
            return sim
        time.sleep(0.001)


async def run(args: argparse.Namespace, redis_url: str, logs: Path) -> None:
    n = args.conversations
    n_slack, n_discord = n - n // 2, n // 2
    chunks = int(args.duration * RATE)
    agent = ScaleAgent(chunks=chunks, rate=RATE, first_token=FIRST_TOKEN)
    async with AsyncExitStack() as stack:
        await agent.start()
        stack.push_async_callback(agent.stop)
        slack = await stack.enter_async_context(SlackSimulator())
        discord = await stack.enter_async_context(discord_sim())
        ws = slack.workspace
        slack_channels = [slack.add_channel(ws.team_id, f"scale-{i}").id
                          for i in range(args.channels)]  # fmt: skip
        guild_channels = [discord.world.add_text_channel(f"scale-{i}").id
                          for i in range(args.channels)]  # fmt: skip
        n_dm = n_discord // 2
        dm_users = [discord.world.add_user(f"user{i}") for i in range(n_dm)]
        env = common_env(redis_url, agent, n, args.log_level)
        print(f"starting {SLACK_REPLICAS} Slack replicas and {DISCORD_SHARDS} Discord shards…",
              flush=True)  # fmt: skip
        slack_env = {**env, "SLACK_BOT_TOKEN": ws.bot_token, "SLACK_HOST": "127.0.0.1",
                     "SLACK_SIGNING_SECRET": slack.app.signing_secret,
                     "SLACK_API_URL": slack.api_url}  # fmt: skip
        discord_env = {**env, "DISCORD_TOKEN": discord.token,
                       "DISCORD_API_URL": discord.api_base,
                       "DISCORD_GATEWAY_URL": discord.gateway_url,
                       "DISCORD_SHARD_COUNT": str(DISCORD_SHARDS)}  # fmt: skip
        starting = [start_bot("slack", f"slack-{i}", slack_env, logs)
                    for i in range(SLACK_REPLICAS)]  # fmt: skip
        starting += [start_bot("discord", f"discord-{i}",
                               {**discord_env, "DISCORD_SHARD_ID": str(i)}, logs)
                     for i in range(DISCORD_SHARDS)]  # fmt: skip
        bots: list[Bot] = list(await asyncio.gather(*starting))
        for bot in bots:
            stack.push_async_callback(bot.stop)
        await discord.wait_until(
            lambda: sum(1 for s in discord.sessions if s.connection) == DISCORD_SHARDS, 60
        )
        proxy = Proxy([b.url for b in bots[:SLACK_REPLICAS]])
        await proxy.start()
        stack.push_async_callback(proxy.stop)
        slack.events_url = proxy.url + "/slack/events"

        redis = RedisUse(redis_url)
        await redis.start()
        before = {b.name: process_use(b.process.pid) for b in bots}
        cpu0, wall0 = time.process_time(), time.perf_counter()
        loop = asyncio.get_running_loop()
        conversations, retries = await start_conversations(
            slack, discord, n_slack, n_discord, slack_channels, guild_channels, dm_users
        )
        print(f"{len(conversations)} conversations started in {time.perf_counter() - wall0:.1f} s;"
              f" {len(retries)} Slack events not acknowledged within 3 s (retried, as Slack"
              f" does)", flush=True)  # fmt: skip
        for task in retries:
            stack.callback(task.cancel)
        victim = bots[0]
        kill_at = min(c.started for c in conversations) + FIRST_TOKEN + args.duration / 2
        if not args.no_kill:
            await asyncio.sleep(max(0.0, kill_at - loop.time()))
        usage = {b.name: process_use(b.process.pid) for b in bots}  # the victim's, at its end
        if not args.no_kill:
            victim.kill()
            print(f"SIGKILL {victim.name} at {kill_at - conversations[0].started:.1f} s",
                  flush=True)  # fmt: skip
        settled = await until_done(
            slack, discord, conversations, within=args.duration * 10 + 600, patience=args.patience
        )
        elapsed = settled - conversations[0].started  # the active window
        cpu = time.process_time() - cpu0
        await redis.stop(settled)
        for bot in bots:
            usage[bot.name] = process_use(bot.process.pid) or usage[bot.name]
        outcomes = measure(slack, discord, conversations, agent, chunks, victim.killed_at)
        report(args, conversations, outcomes, slack, discord, redis, bots, before, usage,
               elapsed, cpu, victim)  # fmt: skip
        explain(conversations, outcomes, slack, discord, proxy, bots, logs)


async def start_conversations(
    slack: SlackSimulator,
    discord: DiscordSimulator,
    n_slack: int,
    n_discord: int,
    slack_channels: list[str],
    guild_channels: list[int],
    dm_users: list[SimUser],
) -> tuple[list[Conversation], list[asyncio.Task[None]]]:
    """Every conversation's first message, sent at once (Slack: both events of a mention,
    as Slack sends them, to the proxy; Discord: MESSAGE_CREATE through the gateway)."""
    loop = asyncio.get_running_loop()
    ws = slack.workspace
    conversations: list[Conversation] = []

    envelopes: list[dict[str, Any]] = []
    for i in range(n_slack):
        rid = f"s{i}"
        channel = slack_channels[i % len(slack_channels)]
        message = slack.user_message(channel, ws.alice, f"<@{ws.bot_user_id}> {rid}")
        conversations.append(Conversation(rid, "slack", channel, message.ts, loop.time()))
        envelopes += [slack.envelope(e, ws.team_id) for e in slack.events_for(message)]
    # Slack sends a mention's app_mention and message events as separate requests, in no
    # set order: shuffled, the round-robin proxy spreads the mentions over every replica.
    random.Random(7).shuffle(envelopes)

    async def discord_one(i: int) -> None:
        rid = f"d{i}"
        started = loop.time()
        if i < len(dm_users):
            sent = await discord.dm_message(rid, author=dm_users[i])
            where = sent.channel_id  # a DM's reply is in the DM
        else:
            channel = guild_channels[i % len(guild_channels)]
            sent = await discord.user_message(channel, rid, mention_bot=True)
            where = sent.id  # the thread opened on the message has its id
        conversations.append(Conversation(rid, "discord", str(where), "", started))

    sent = await asyncio.gather(*(slack.deliver_http(e, retries=False) for e in envelopes),
                                *(discord_one(i) for i in range(n_discord)))  # fmt: skip
    # An event not acknowledged within 3 s is retried by Slack (at once, then after 1 and
    # 5 minutes, X-Slack-Retry-Num): the retries run in the background, as Slack's do.
    late = [d for d in sent[: len(envelopes)] if isinstance(d, HttpDelivery) and not d.acked]
    retries = [asyncio.create_task(slack.http.retry(d)) for d in late]
    return conversations, retries


def slack_finished(slack: SlackSimulator, conv: Conversation) -> bool:
    """Every message of the reply final: no indicator, not streaming, no Stop button (a
    final message keeps its blocks: the Markdown block and the feedback buttons)."""
    replies = slack.bot_replies(conv.channel, conv.thread)
    return bool(replies) and all(
        not m.streaming
        and INDICATOR not in m.text
        and find_action(m.blocks, STOP_ACTION_ID) is None
        for m in replies
    )


def discord_replies(discord: DiscordSimulator, conv: Conversation) -> list[Any]:
    bot = discord.bot.id
    return [m for m in discord.channel_messages(int(conv.channel)) if m.author.id == bot]


def discord_finished(discord: DiscordSimulator, conv: Conversation) -> bool:
    """No indicator and no Stop button (a final message keeps the feedback buttons)."""
    replies = discord_replies(discord, conv)
    return bool(replies) and all(INDICATOR not in m.content
                                 and STOP_CUSTOM_ID not in json.dumps(m.components or [])
                                 for m in replies)  # fmt: skip


async def until_done(
    slack: SlackSimulator, discord: DiscordSimulator, conversations: list[Conversation],
    *, within: float, patience: float,
) -> float:  # fmt: skip
    """Wait until every reply is final, or none has become final for ``patience`` seconds
    (a reply lost for good); returns when the last one became final (loop time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    pending = list(conversations)
    progress = loop.time()
    while pending and loop.time() < min(deadline, progress + patience):
        await asyncio.sleep(1.0)
        still = [c for c in pending if not (
            slack_finished(slack, c) if c.platform == "slack" else discord_finished(discord, c)
        )]  # fmt: skip
        if len(still) < len(pending):
            progress = loop.time()
        pending = still
    for conv in pending[:10]:
        if conv.platform == "slack":
            texts = [m.text for m in slack.bot_replies(conv.channel, conv.thread)]
        else:
            texts = [m.content for m in discord_replies(discord, conv)]
        shown = " | ".join(t[-60:] for t in texts) or "no reply at all"
        print(f"!! {conv.rid} not final ({patience:.0f} s without progress): {shown}")
    return progress


# --- the figures ---------------------------------------------------------------------------


def measure(
    slack: SlackSimulator, discord: DiscordSimulator, conversations: list[Conversation],
    agent: ScaleAgent, chunks: int, killed_at: float | None,
) -> dict[str, Outcome]:  # fmt: skip
    shown = slack_shown(slack)
    shown.update(discord_shown(discord))
    notices = slack_notices(slack)
    outcomes: dict[str, Outcome] = {}
    for conv in conversations:
        if conv.platform == "slack":
            texts = [m.text for m in slack.bot_replies(conv.channel, conv.thread)]
            key = (conv.channel, conv.thread)
        else:
            texts = [m.content for m in discord_replies(discord, conv)]
            key = (conv.channel, "")
        text = " ".join(texts)
        outcome = Outcome()
        outcome.orphan = NOTICE_WORDS in text
        outcome.unanswered = UNANSWERED_WORDS in text
        outcome.silent = not texts
        numbers = [int(x) for x in NUMBER.findall(text)]
        outcome.complete = numbers == list(range(chunks)) and not outcome.orphan
        starts = sum(1 for t in texts if "00000" in t)
        outcome.asked = agent.asked[conv.rid]
        outcome.duplicates = max(0, starts - 1)
        outcome.staleness = tuple(staleness(list(agent.emitted.get(conv.rid, ())),
                                            sorted(shown.get(key, []))))  # fmt: skip
        if (outcome.orphan or outcome.unanswered) and killed_at is not None and key in notices:
            outcome.finalised_after_kill = notices[key] - killed_at
        outcomes[conv.rid] = outcome
    return outcomes


def slack_notices(slack: SlackSimulator) -> dict[tuple[str, str], float]:
    """(channel, thread) -> when a recovery notice (cut off, or unanswered) was first shown
    there."""
    threads: dict[tuple[str, str], str] = {}
    found: dict[tuple[str, str], float] = {}
    for call in slack.calls():
        if not call.ok:
            continue
        channel = str(call.params.get("channel"))
        if call.method in ("chat.postMessage", "chat.startStream"):
            threads[(channel, str(call.response.get("ts")))] = str(call.params.get("thread_ts"))
            if UNANSWERED_WORDS in str(call.params):  # posted as a reply of its own
                found.setdefault((channel, str(call.params.get("thread_ts"))), call.time)
        elif NOTICE_WORDS in str(call.params) or UNANSWERED_WORDS in str(call.params):
            key = (channel, threads.get((channel, str(call.params.get("ts"))), ""))
            found.setdefault(key, call.time)
    return found


def discord_shown(discord: DiscordSimulator) -> dict[tuple[str, str], list[tuple[float, int]]]:
    shown: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    for call in discord.calls:
        if call.method not in ("POST", "PATCH") or not 200 <= call.status < 300:
            continue
        if not call.route.startswith("/channels/{channel_id}/messages"):
            continue
        content = call.json.get("content") if isinstance(call.json, dict) else None
        numbers = NUMBER.findall(str(content or ""))
        if numbers:
            key = (call.params["channel_id"], "")
            shown[key].append((call.time, max(map(int, numbers))))
    return shown


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values) or [math.nan]
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def p99(values: list[float]) -> float:
    return percentile(values, 0.99)


def _calls(platform: str, slack: SlackSimulator, discord: DiscordSimulator) -> list[Any]:
    return list(slack.calls()) if platform == "slack" else list(discord.calls)


def refused_by(platform: str, slack: SlackSimulator, discord: DiscordSimulator) -> str:
    counts: dict[str, int] = defaultdict(int)
    for call in _calls(platform, slack, discord):
        if call.status == 429:
            name = call.method if platform == "slack" else f"{call.method} {call.route}"
            counts[name] += 1
    return (": " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))) if counts else ""


def request_rate(platform: str, slack: SlackSimulator, discord: DiscordSimulator) -> str:
    """Requests per second the platform saw: the mean over the busy window and the busiest
    second (Slack: chat.update per minute, the budget that sets its pace)."""
    calls = _calls(platform, slack, discord)
    if platform == "slack":
        calls = [c for c in calls if c.method == "chat.update"]
    times = sorted(c.time for c in calls)
    if len(times) < 2:
        return "n/a"
    span = times[-1] - times[0]
    per_second: dict[int, int] = defaultdict(int)
    for t in times:
        per_second[int(t)] += 1
    if platform == "slack":
        return f"chat.update {len(times) / span * 60:.1f}/min over {span:.0f} s (budget 50)"
    return (f"{len(times) / span:.1f}/s over {span:.0f} s, busiest second "
            f"{max(per_second.values())} (bot budget {DISCORD_GLOBAL_PER_S:g}/s)")  # fmt: skip


def bound(replies: int, budget_per_s: float) -> float:
    return 1.25 * max(1.0, replies / budget_per_s) + 0.1


def report(
    args: argparse.Namespace, conversations: list[Conversation], outcomes: dict[str, Outcome],
    slack: SlackSimulator, discord: DiscordSimulator, redis: RedisUse, bots: list[Bot],
    before: dict[str, Any], usage: dict[str, Any], elapsed: float, cpu: float, victim: Bot,
) -> None:  # fmt: skip
    n = len(conversations)
    print(f"\nScale run: {n} conversations, {args.duration:g} s replies at {RATE:g} chunks/s, "
          f"{SLACK_REPLICAS} Slack replicas + {DISCORD_SHARDS} Discord shards, one Redis "
          f"({elapsed:.0f} s real)")  # fmt: skip
    by: dict[str, list[Conversation]] = defaultdict(list)
    for conv in conversations:
        by[conv.platform].append(conv)
    slack_calls, discord_calls = slack.calls(), discord.calls
    refused = {"slack": sum(1 for c in slack_calls if c.status == 429),
               "discord": sum(1 for c in discord_calls if c.status == 429)}  # fmt: skip
    totals = {"slack": len(slack_calls), "discord": len(discord_calls)}
    scopes = {
        "slack": [(f"workspace chat.update ({len(by['slack'])} replies, "
                   f"{SLACK_UPDATES_PER_S * 60:g}/min)",
                   bound(len(by["slack"]), SLACK_UPDATES_PER_S))],
        "discord": [("thread (1 reply, 4 / 5 s)", bound(1, DISCORD_THREAD_PER_S)),
                    (f"bot global ({len(by['discord'])} replies, {DISCORD_GLOBAL_PER_S:g}/s)",
                     bound(len(by["discord"]), DISCORD_GLOBAL_PER_S))],
    }  # fmt: skip
    for platform, convs in by.items():
        got = [outcomes[c.rid] for c in convs]
        orphans = [o for o in got if o.orphan or o.unanswered]
        stale = [s for o in got for s in o.staleness]
        target = max(b for _, b in scopes[platform])
        share = refused[platform] / totals[platform] if totals[platform] else 0.0
        print(f"  {platform}: {len(convs)} conversations")
        done = sum(o.complete for o in got)
        cut = sum(o.orphan for o in got)
        print(f"    replies complete      {done} / {len(convs) - len(orphans)}"
              f" (+ {len(orphans)} orphans: {cut} cut off, {len(orphans) - cut} not begun,"
              f" each with its notice)")  # fmt: skip
        print(f"    no reply at all       {sum(o.silent for o in got)}")
        twice = sum(max(0, o.asked - 1) for o in got)
        print(f"    duplicate replies     {sum(o.duplicates for o in got)} (a reply started "
              f"twice in a thread); messages asked of the agent twice: {twice}; never asked: "
              f"{sum(1 for o in got if not o.asked)}")  # fmt: skip
        print(f"    429s                  {refused[platform]} of {totals[platform]} calls "
              f"({share:.2%}; target <= 1 %){refused_by(platform, slack, discord)}")  # fmt: skip
        print(f"    request rate          {request_rate(platform, slack, discord)}")
        for name, value in scopes[platform]:
            print(f"    bound per scope       {name}: {value:.2f} s")
        print(f"    staleness             p50 {percentile(stale, 0.5):.2f} s, "
              f"p99 {p99(stale):.2f} s (target {target:.2f} s)")  # fmt: skip
        if platform == "slack" and victim.killed_at is not None:
            times = [o.finalised_after_kill for o in orphans]
            finalised = [t for t in times if t is not None]
            limit = RECOVERY_TTL + RECOVERY_INTERVAL + target
            print(f"    orphans finalised     {len(finalised)} / {len(orphans)}, "
                  f"slowest {max(finalised, default=math.nan):.1f} s after the kill "
                  f"(bound {limit:.1f} s = recovery {RECOVERY_TTL:g} + {RECOVERY_INTERVAL:g}"
                  f" + staleness bound)")  # fmt: skip
    ops = redis.ops_samples
    print(f"  redis: {redis.commands / elapsed:.0f} commands/s on average "
          f"(instantaneous_ops_per_sec p50 {p50(ops):.0f}, max {max(ops, default=0)}), "
          f"CPU {redis.cpu:.1f} s = {redis.cpu / elapsed:.0%} of a core, "
          f"RSS {redis.rss / 2**20:.0f} MiB")  # fmt: skip
    top = sorted(redis.by_command.items(), key=lambda kv: -kv[1])[:6]
    print("    top commands          " + ", ".join(f"{k} {v}" for k, v in top))
    print("  processes (CPU over the run, RSS at the end / peak):")
    for bot in bots:
        start, end = before.get(bot.name), usage.get(bot.name)
        if start is None or end is None:
            continue
        note = " (SIGKILLed mid-run)" if bot is victim and bot.killed_at else ""
        print(f"    {bot.name:<10} CPU {end.cpu - start.cpu:6.1f} s "
              f"({(end.cpu - start.cpu) / elapsed:4.0%})  RSS {end.rss / 2**20:5.0f} MiB"
              f" / {end.peak_rss / 2**20:5.0f} MiB{note}")  # fmt: skip
    print(f"    {'bench':<10} CPU {cpu:6.1f} s ({cpu / elapsed:4.0%})  "
          f"peak RSS {peak_rss() / 2**20:.0f} MiB (simulators, agent, proxy)")  # fmt: skip


def explain(
    conversations: list[Conversation], outcomes: dict[str, Outcome], slack: SlackSimulator,
    discord: DiscordSimulator, proxy: Proxy, bots: list[Bot], logs: Path,
) -> None:  # fmt: skip
    """Each reply that is not right (incomplete without a notice, nothing shown, shown or
    asked twice): which replica got its event, and what the platform was asked, in
    ``logs/problems.json`` (one line each printed)."""
    names = {bot.url: bot.name for bot in bots}
    routed: dict[tuple[str, str], list[str]] = defaultdict(list)
    for _, backend, body, status in proxy.tries:
        try:
            event = json.loads(body).get("event") or {}
        except ValueError:
            continue
        if event.get("type") != "app_mention":
            continue
        where = f"{names.get(backend, backend)}:{'refused' if status is None else status}"
        routed[(str(event.get("channel")), str(event.get("ts")))].append(where)
    problems: list[dict[str, Any]] = []
    for conv in conversations:
        o = outcomes[conv.rid]
        final = (slack_finished(slack, conv) if conv.platform == "slack"
                 else discord_finished(discord, conv))  # fmt: skip
        fine = (o.complete or o.orphan or o.unanswered) and not o.duplicates and o.asked <= 1
        if fine and final:
            continue
        if conv.platform == "slack":
            replies = slack.bot_replies(conv.channel, conv.thread)
            texts = [m.text for m in replies]
            finished = slack_finished(slack, conv)
            calls = [
                {"t": round(c.time, 2), "method": c.method, "status": c.status,
                 "ts": c.params.get("ts") or c.response.get("ts"),
                 "text": str(c.params.get("markdown_text") or c.params.get("text") or "")[-80:]}
                for c in slack.calls()
                if c.params.get("channel") == conv.channel
                and (c.params.get("thread_ts") == conv.thread
                     or any(c.params.get("ts") == m.ts for m in replies))
            ]  # fmt: skip
        else:
            texts = [m.content for m in discord_replies(discord, conv)]
            finished, calls = discord_finished(discord, conv), []
        problems.append({
            "rid": conv.rid, "event_to": routed.get((conv.channel, conv.thread), []),
            "asked": o.asked, "messages": len(texts), "duplicates": o.duplicates,
            "finished": finished, "notice": o.orphan or o.unanswered,
            "tail": [t[-90:] for t in texts], "calls": calls,
        })  # fmt: skip
    (logs / "problems.json").write_text(json.dumps(problems, indent=1))
    threads = {c.rid: [c.platform, c.channel, c.thread] for c in conversations}
    (logs / "conversations.json").write_text(json.dumps(threads))
    if problems:
        print(f"  replies not right: {len(problems)} (details in {logs / 'problems.json'})")
    for item in problems[:60]:
        tail = " | ".join(str(t)[-40:] for t in item["tail"]) or "nothing shown"
        print(f"    {item['rid']:<6} event to {','.join(item['event_to']) or '-'}; asked "
              f"{item['asked']}; {item['messages']} messages, final={item['finished']}: "
              f"{tail}")  # fmt: skip


def p50(values: list[int]) -> float:
    ordered = sorted(values)
    return float(ordered[len(ordered) // 2]) if ordered else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per reply")
    parser.add_argument("--channels", type=int, default=20, help="channels per platform")
    parser.add_argument("--no-kill", action="store_true", help="no SIGKILL mid-run")
    parser.add_argument(
        "--patience",
        type=float,
        default=120.0,
        help="stop waiting when no reply became final for this long",
    )
    parser.add_argument("--logs", type=Path, help="keep the bots' logs in this directory")
    parser.add_argument("--log-level", default="WARNING", help="the bots' THREADCAST_LOG_LEVEL")
    args = parser.parse_args()
    print(cpu_note(), flush=True)
    with tempfile.TemporaryDirectory() as data:
        logs = args.logs or Path(data) / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        if os.environ.get("REDIS_URL"):
            asyncio.run(run(args, os.environ["REDIS_URL"], logs))
            return
        with start_test_redis(Path(data) / "redis") as url:
            asyncio.run(run(args, url, logs))


if __name__ == "__main__":
    main()
