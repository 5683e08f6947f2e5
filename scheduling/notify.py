"""Telling the employer what the booking dialogue cannot solve alone.

Why mail for now: the organization's contact address is the one channel every employer has
(the Slack employer side arrives with the Employers issue). The message names the job and an
application reference only, never the candidate: the employer looks the person up in Parley,
where the read is access-logged.
"""

from __future__ import annotations

import logging

from privacy.mail import MailSettings, send_mail

log = logging.getLogger(__name__)


class MailNotifier:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def no_availability(self, org_email: str | None, job_title: str, application_ref: str) -> None:
        if not org_email:
            log.warning("no interview time free and the organization has no contact address")
            return
        send_mail(
            self.settings,
            org_email,
            f"No interview times free for {job_title}",
            f"A candidate for {job_title} passed the screening and was invited to book an "
            "interview, but no interviewer has free time in the next two weeks.\n\n"
            f"Application reference: {application_ref}\n\n"
            "Add working hours or free up calendar time (parley calendars list / add); the "
            "candidate is told as soon as new times open up.\n",
        )
