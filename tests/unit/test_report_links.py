"""Reports link by paths relative to themselves: a results folder moved together with its
reports still links, and no absolute path of the machine that wrote them is left in them.
Also the one number format: durations and projections in readable units."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from engine import units
from engine.analysis.report.rebuild import rebuild_reports
from tests.support.results_builder import standard_results

LINK = re.compile(r"\]\(([^)\s]+)\)")


def _links(md: Path) -> list[str]:
    return [t for t in LINK.findall(md.read_text()) if "://" not in t]


def test_moving_results_and_reports_keeps_every_link_valid(tmp_path: Path) -> None:
    old = tmp_path / "old" / "work"
    standard_results(old / "results")
    written = rebuild_reports(old / "results", old / "reports")
    mds = [p for p in written if p.suffix == ".md"]
    assert len(mds) > 5
    new = tmp_path / "elsewhere" / "deeper" / "moved"
    new.parent.mkdir(parents=True)
    shutil.move(str(old), str(new))
    checked = 0
    for md in [*new.rglob("*.md")]:
        text = md.read_text()
        assert str(old) not in text and str(tmp_path) not in text, md
        for target in _links(md):
            if target == "mlperf_log_summary.txt":
                continue  # the builder lists LoadGen's summary in `files` but writes none
            assert (md.parent / target).exists(), f"{md}: {target} does not exist after the move"
            checked += 1
    pipeline = new / "reports" / "mlconsole_pipeline_report.md"
    # The pipeline report links every run's own report and every chart.
    assert any(t.endswith("_comprehensive_report.md") for t in _links(pipeline))
    assert any(t.endswith(".png") for t in _links(pipeline))
    assert checked > 20


def test_readable_durations_and_projections() -> None:
    assert units.duration(406) == "6 min 46 s"
    assert units.duration(42.4) == "42 s"
    assert units.duration(1.23) == "1.2 s"
    assert units.duration(7380) == "2 h 03 min"
    assert units.duration(None) == units.MISSING
    assert units.hours(26.83) == "26.8 h"
    assert units.hours(0.3713) == "22 min 17 s"
    assert units.num(1234567.0) == "1,234,567"
    assert units.num(0.000123456) == "0.0001235"  # never scientific
    assert units.signed_percent(-7.94) == "-7.94%"


def test_console_and_reports_write_a_figure_the_same_way() -> None:
    from console.format import fmt_duration, fmt_num
    from engine.analysis.report.format import num, seconds

    assert fmt_duration(406) == units.duration(406)
    assert fmt_num(0.000123456, "samples/s") == "0.000123 samples/s"
    assert num(20.49) == fmt_num(20.49, digits=4)
    assert seconds(722.6) == "722.6 s (12 min 03 s)"
