"""Slack: the Web API surface, the Socket Mode / HTTP bot wiring, and mrkdwn rendering."""
