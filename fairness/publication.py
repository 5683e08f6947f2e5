"""Where the public bias-audit summary lives: the file `parley audit publish` writes, the
web gateway's route that serves it, and the address the candidate notice gives.

One module for the three, so the notice can never point somewhere the page is not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SUMMARY_FILE = "audit-summary.html"
SUMMARY_ROUTE = "/audit-summary"


def summary_dir(settings: Any) -> Path:
    """The folder of published pages (var/public/), served by the web gateway."""
    return Path(settings.var_dir) / "public"


def summary_file(settings: Any) -> Path:
    """Where `parley audit publish` writes the public summary by default."""
    return summary_dir(settings) / SUMMARY_FILE


def summary_url(settings: Any) -> str:
    """Where candidates find the latest audit summary: PARLEY_AUDIT_SUMMARY_URL when the
    employer publishes it elsewhere, else the web gateway's /audit-summary."""
    configured = (getattr(settings, "audit_summary_url", "") or "").strip()
    return configured or settings.public_base_url.rstrip("/") + SUMMARY_ROUTE
