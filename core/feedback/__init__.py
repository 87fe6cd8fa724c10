"""Feedback on replies: 👍 / 👎 votes, stored in Redis, counted, and sent to a webhook."""
