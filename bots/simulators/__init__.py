"""Local Slack and Discord simulators: infrastructure the playground runs and the tests use.

Each behaviour they model cites its source (the platform's documentation or an official SDK's
code) where it is implemented, so that a difference from the real platform is a bug here first.
"""
