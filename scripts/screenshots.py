"""Regenerate the README's pictures of the portal, ``docs/portal-*.png``, from the real pages.

Runs the breeder's journey (``tests/web/test_journey.py``: a real small rice
programme, a headless Chromium at 1280 px wide walking login, search,
accession, predictions, selection index, list, cross planner, model runs and
a finished job) with ``BREEDHUB_SCREENSHOTS=docs``, so every picture shows
the page as the test just checked it. Then each PNG is re-encoded with a
256-colour palette (about a third of the size; the pages are flat UI colours).

Usage (from the repository root; needs chromium and chromedriver, and a CJK
font such as ``fonts-wqy-microhei`` or ``fonts-noto-cjk`` for the Chinese names)::

    .venv/bin/python scripts/screenshots.py

Exits non-zero, and leaves the old pictures of any page it did not reach,
when the journey fails or skips (Chromium missing, a page not built).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TEST = "tests/web/test_journey.py"


def run_journey() -> int:
    """Run the journey test with screenshots into docs/; its exit status (0: passed)."""
    env = {**os.environ, "BREEDHUB_SCREENSHOTS": "docs", "CI": "true"}  # CI: no silent skip
    cmd = [sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:cacheprovider", "-k", "sqlite"]
    return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode


def shrink(path: Path) -> tuple[int, int]:
    """Re-encode ``path`` as a palette PNG; its sizes in bytes before and after."""
    from PIL import Image

    before = path.stat().st_size
    with Image.open(path) as img:
        small = img.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    return before, path.stat().st_size


def main() -> int:
    import shutil

    fc_list = shutil.which("fc-list")
    if (
        fc_list
        and not subprocess.run(
            [fc_list, ":lang=zh"], capture_output=True, text=True, check=False
        ).stdout.strip()
    ):
        print("warning: no CJK font (fonts-wqy-microhei): Chinese names will show as boxes")
    start = time.time()
    status = run_journey()
    fresh = sorted(p for p in DOCS.glob("portal-*.png") if p.stat().st_mtime >= start)
    for path in fresh:
        before, after = shrink(path)
        print(f"{path.relative_to(ROOT)}: {before // 1024} KiB -> {after // 1024} KiB")
    if status != 0:
        print(f"the journey test did not pass (exit {status}): pictures of later pages are old")
    return status


if __name__ == "__main__":
    sys.exit(main())
