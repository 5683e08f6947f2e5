"""The Slack gateway, candidate side: people apply by direct message with the Parley app.

Modules:

* `payloads.py`: request signatures, and the canonical form of what Slack sends (anything
  else is acknowledged and dropped before it reaches slack-bolt or Rasa).
* `seen.py`: "have we handled this already?" (event retries, replayed requests, double clicks).
* `render.py`: Rasa replies as Block Kit messages.
* `gateway.py`: the conversation: per-person order, `/link`, Rasa, replies, the outbox.
* `listeners/`: the slack-bolt listeners (DMs, App Home, buttons).
* `app.py`: the bolt `AsyncApp`, the HTTP Events API endpoint and the Socket Mode handler.
* `server.py`: the process (`parley serve-slack`).
"""
