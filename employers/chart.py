"""The score distribution of a job as a PNG, sent next to the shortlist.

Why a picture: a ranked list says who is on top, not whether the top is crowded or alone,
nor where the cut-off falls in the field — a histogram answers both at a glance. It holds
scores only (no names, no references), so it can go wherever the shortlist goes. Rendered
with matplotlib's Agg backend (no display, safe in worker threads as long as every call
uses its own Figure, which this does instead of pyplot's global state).
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

BINS = list(range(0, 101, 10))
MAX_TITLE = 120


def _plain(title: str) -> str:
    """The title as literal text: no control characters, and `$` escaped so matplotlib does
    not read it as math markup (a malformed formula would fail the whole chart)."""
    printable = "".join(c if c.isprintable() else " " for c in str(title))
    return " ".join(printable.split())[:MAX_TITLE].replace("$", r"\$")


def distribution_png(scores: list[int], cutoff: int | None, title: str) -> bytes:
    """A histogram of `scores` (0–100) in 10-point bins, with the shortlist cut-off as a
    dashed vertical line; with no scores, a chart saying there is nothing yet."""
    clean = [min(100, max(0, int(x))) for x in scores]
    figure = Figure(figsize=(6.4, 3.6), dpi=100)
    ax = figure.add_subplot()
    ax.set_title(_plain(title) or "Scores")
    ax.set_xlim(0, 100)
    ax.set_xticks(BINS)
    ax.set_xlabel("score")
    ax.set_ylabel("interviews")
    if clean:
        ax.hist(clean, bins=BINS, color="#4a7bd0", edgecolor="white")
        ax.yaxis.get_major_locator().set_params(integer=True)
    else:
        ax.set_yticks([])
        ax.text(
            50, 0.5, "no scored interviews yet", ha="center", va="center",
            transform=ax.get_xaxis_transform(), fontsize=12, color="#555555",
        )  # fmt: skip
    if cutoff is not None:
        line = min(100, max(0, int(cutoff)))
        ax.axvline(line, color="#d04a4a", linestyle="--", linewidth=1.5,
                   label=f"shortlist cut-off {line}")  # fmt: skip
        ax.legend(loc="upper left", frameon=False)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
