"""The employer side of the Slack app: shortlists, answers, decisions and notifications.

* `render.py`: Block Kit for shortlist pages, the answers modal and the review modals.
* `service.py`: `EmployerSlack`, the handlers behind `/shortlist`, `/parley-admin`, the
  shortlist's buttons and the review modals.
* `notify.py`: delivery of `employers.notifications` to each organization's channel.

The rules (who may see and do what) live in the `employers` package; this package only asks
it and renders the answers for Slack.
"""
