"""The score histogram (employers/chart.py): a real PNG of the expected size, for a full
field, an empty job, a cut-off at the edges, and titles that are long or odd."""

from __future__ import annotations

import struct

import pytest

from employers.chart import distribution_png

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk (always the first chunk of a PNG)."""
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_a_distribution_is_a_png_of_the_expected_size() -> None:
    data = distribution_png([12, 35, 50, 72, 72, 80, 91, 100, 0], 72, "Barista — scores")
    assert data.startswith(PNG_MAGIC) and data.rstrip().endswith(b"IEND\xaeB`\x82")
    assert png_size(data) == (640, 360)
    assert 5_000 < len(data) < 200_000


def test_an_empty_job_still_gets_a_chart() -> None:
    empty = distribution_png([], None, "Barista — scores")
    assert png_size(empty) == (640, 360)
    assert empty != distribution_png([50], None, "Barista — scores")


def test_the_cut_off_changes_the_picture_and_is_clamped() -> None:
    scores = [40, 60, 75, 90]
    without = distribution_png(scores, None, "t")
    assert distribution_png(scores, 72, "t") != without
    for edge in (-5, 0, 100, 250):
        assert png_size(distribution_png(scores, edge, "t")) == (640, 360)


@pytest.mark.parametrize(
    "title",
    [
        "",
        "x" * 10_000,
        "<!channel> *bold* $\\frac{1}{0}$",
        "$\\frac{$ broken",
        "tab\tnew\nline \x00",
    ],
)
def test_odd_titles_do_not_break_the_chart(title: str) -> None:
    assert png_size(distribution_png([55, 65], 60, title)) == (640, 360)


def test_a_thousand_scores_and_out_of_range_values() -> None:
    many = [i % 101 for i in range(1000)] + [-20, 140]
    assert png_size(distribution_png(many, 50, "Volume")) == (640, 360)
