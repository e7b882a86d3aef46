#!/usr/bin/env python3
"""Regenerate the console screenshots in this directory:

    .venv/bin/python docs/screenshots/make_screenshots.py

The main screen at 80x24 and 160x48, dark and light, fed the recorded engine events of
tests/data/console/plan_events.json exactly as the snapshot tests are (so the pictures are
reproducible). SVG from Textual; PNG too when `rsvg-convert` (librsvg2-bin) is installed.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests.support.event_codec import SELECTED, Clock, feed, make_app  # noqa: E402

SHOTS = [((80, 24), "dark"), ((160, 48), "dark"), ((160, 48), "light")]


async def shoot(size: tuple[int, int], theme: str, workdir: Path) -> Path:
    clock = Clock()
    app = make_app(workdir, clock)
    name = f"main-{size[0]}x{size[1]}-{theme}.svg"
    async with app.run_test(size=size) as pilot:
        app.theme = theme
        await feed(app, clock, pilot, select=SELECTED)
        app.save_screenshot(name, str(HERE))
    return HERE / name


def main() -> None:
    rsvg = shutil.which("rsvg-convert")
    for size, theme in SHOTS:
        with tempfile.TemporaryDirectory() as d:
            svg = asyncio.run(shoot(size, theme, Path(d)))
        print(svg)
        if rsvg:
            png = svg.with_suffix(".png")
            subprocess.run([rsvg, "-w", str(size[0] * 12), str(svg), "-o", str(png)], check=True)
            print(png)


if __name__ == "__main__":
    main()
