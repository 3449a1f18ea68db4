"""The HTML report in a real browser: headless Chromium renders it at a phone's width and
the screenshot shows text, tables and charts (not a blank page).

Chromium is a system package (Debian's ``chromium``; ``make test`` installs it when it
can). Without it this test, and only this one, is skipped, saying why.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from mfq.api import Selection
from tests.report.conftest import DemoWeek

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PHONE = (412, 2400)  # CSS pixels: a common phone width, tall enough for the charts
CHART_BLUE = (9, 105, 218)  # "this period" in the events chart (#0969da)


def _browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(
        "no Chromium binary (chromium, chromium-browser or google-chrome) on PATH: "
        "install Debian's chromium package (make test does when run as root)"
    )


def _screenshot(html: str, tmp_path: Path) -> Image.Image:
    """The page rendered by headless Chromium at a phone's width."""
    browser = _browser()
    page = tmp_path / "report.html"
    page.write_text(html, encoding="utf-8")
    shot = tmp_path / "report.png"
    result = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={PHONE[0]},{PHONE[1]}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == PHONE
        return image.convert("RGB")


def _assert_drawn(pixels: Image.Image) -> None:
    colours = pixels.getcolors(maxcolors=PHONE[0] * PHONE[1])
    assert colours is not None
    counts = {colour: count for count, colour in colours}
    area = PHONE[0] * PHONE[1]
    background = counts.get((255, 255, 255), 0)
    assert background < 0.97 * area  # text, borders and charts cover the page
    assert len(counts) > 50  # anti-aliased text and charts, not a flat fill
    near_blue = sum(
        n
        for colour, n in counts.items()
        if sum(abs(a - b) for a, b in zip(colour, CHART_BLUE, strict=True)) < 40
    )
    assert near_blue > 200  # the charts were drawn (blue lines and bars)


def test_the_html_report_renders_in_headless_chromium(demo_week: DemoWeek, tmp_path: Path) -> None:
    _assert_drawn(_screenshot(demo_week.html, tmp_path))


def test_a_report_of_real_logs_renders_in_headless_chromium(tmp_path: Path) -> None:
    from mfq.report import ReportFormat, render_report
    from tests.realdata import real_store

    store = real_store("zeek-streaming", tmp_path)
    report = store.report(Selection(since="2000-01-01", until="2030-01-01"))
    _assert_drawn(_screenshot(render_report(report, ReportFormat.HTML), tmp_path))
