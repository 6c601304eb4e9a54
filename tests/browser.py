"""Headless Chromium from Debian's archive: screenshots, the DOM after layout, and PDF prints."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: `make test` installs Debian's chromium")
    return path


def _run(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                           "--hide-scrollbars", "--no-first-run", *args],
                          capture_output=True, timeout=timeout)


def screenshot(page: Path, png: Path, width: int, height: int = 2400) -> Path:
    _run(f"--window-size={width},{height}", f"--screenshot={png}", page.resolve().as_uri())
    assert png.exists() and png.stat().st_size > 10_000, f"no screenshot of {page} at {width}px"
    return png


def dom(page: Path) -> str:
    return _run("--dump-dom", page.resolve().as_uri()).stdout.decode()


def pdf_pages(page: Path, pdf: Path) -> list[tuple[float, float]]:
    """Print the page as Chromium prints it; the size in points of each page."""
    _run("--no-pdf-header-footer", f"--print-to-pdf={pdf}", page.resolve().as_uri())
    data = pdf.read_bytes()
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    return [(float(w), float(h)) for w, h in boxes]
