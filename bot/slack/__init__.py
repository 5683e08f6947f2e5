"""The Slack gateway: candidates apply by direct message with the Parley app; employers get
ranked shortlists there and act on them (`employer/`).

Modules:

* `payloads.py`: request signatures, and the canonical form of what Slack sends (anything
  else is acknowledged and dropped before it reaches slack-bolt or Rasa).
* `seen.py`: "have we handled this already?" (event retries, replayed requests, double clicks).
* `render.py`: Rasa replies as Block Kit messages.
* `gateway.py`: the conversation: per-person order, `/link`, Rasa, replies, the outbox.
* `listeners/`: the slack-bolt listeners (DMs, App Home, buttons; `employer.py`: the slash
  commands `/shortlist` and `/parley-admin`, the shortlist's buttons and modals).
* `employer/`: the employer side — Block Kit for shortlists and modals (`render.py`), the
  handlers (`service.py`), notifications to organizations' channels (`notify.py`). The rules
  themselves live in the `employers` package.
* `app.py`: the bolt `AsyncApp`, the HTTP Events API endpoint and the Socket Mode handler.
* `server.py`: the process (`parley serve-slack`); with a database it runs the employer side.
"""
