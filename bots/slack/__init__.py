"""The Slack bot: settings, event filtering, bolt wiring, HTTP and Socket Mode serving.

``threadcast slack`` runs :func:`bots.slack.app.run_slack`.
"""
