"""Local stand-ins for the chat platforms, used by the test suite and the benchmarks.

Each simulator is a real aiohttp server on a loopback port that speaks the platform's own
wire format, so the real SDK clients (slack-sdk, slack-bolt, discord.py) run against it
unchanged. They are test infrastructure, not product code: see each package's docstring for
what it models and what it leaves out.
"""
