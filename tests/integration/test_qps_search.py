"""The Server QPS search end to end: real LoadGen runs the bundled harness in Server mode
(simulated node speed 400 samples/s), short runs bisect to the edge where LoadGen's verdict
turns INVALID, a longer run confirms, and every step is recorded."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from console.batch import BatchPrinter
from engine.config.load import load_config
from engine.errors import ConfigError
from engine.results.schema import read_run_summary
from engine.run.orchestrator import Orchestrator
from tests.support.config_writer import write_config

SEARCH = """
[[plan]]
kind = "qps_search"
name = "find"
node = "fast"
benchmark = "demo"
scenario = "Server"
samples = 500
confirm_samples = 800
low_qps = 200
high_qps = 800
tolerance = 0.15
backoff = 0.2
{extra}
"""


def _cfg(tmp_path: Path, extra: str = "") -> Path:
    return write_config(tmp_path, speeds={"fast": 400}, plan=SEARCH.format(extra=extra),
                        user_conf="\ndemo.Server.min_duration = 0\n")  # fmt: skip


async def test_the_search_finds_the_edge_confirms_it_and_records_each_step(tmp_path: Path) -> None:
    config = load_config(_cfg(tmp_path))
    out = io.StringIO()
    orch = Orchestrator(config)
    orch.bus.add_listener(BatchPrinter(out))
    try:
        await orch.run_plan()
    finally:
        await orch.close()
    (search_dir,) = (tmp_path / "results").glob("qps_find_*")
    data = json.loads((search_dir / "qps_search.json").read_text())
    steps = data["steps"]
    shorts = [s for s in steps if s["kind"] == "short"]
    assert [s["qps"] for s in shorts[:2]] == [200, 800]
    assert shorts[0]["validity"] == "VALID" and shorts[1]["validity"] == "INVALID"
    # The bracket closed: the highest VALID short run within 15% of the lowest INVALID one.
    best, bad = data["highest_valid_short_qps"], data["lowest_invalid_qps"]
    assert (bad - best) / best <= 0.15
    confirm = [s for s in steps if s["kind"] == "confirm"]
    assert confirm and confirm[0]["qps"] == pytest.approx(best * 0.8)
    assert data["found_qps"] == confirm[-1]["qps"] and confirm[-1]["validity"] == "VALID"
    assert data["margin"] == pytest.approx((bad - data["found_qps"]) / data["found_qps"])
    assert (search_dir / "qps_search.png").stat().st_size > 1000
    # Each step is a run of its own, its target_qps in its user.conf and LoadGen's log.
    confirm_dir = tmp_path / "results" / confirm[-1]["run_dir"]
    run = read_run_summary(confirm_dir / "orchestrator_summary.json")
    assert run.samples_requested == 800
    conf = (confirm_dir / "user.conf").read_text()
    assert conf.endswith(f"demo.Server.target_qps = {confirm[-1]['qps']:g}\n")
    detail = (tmp_path / "results" / shorts[1]["run_dir"] / "mlperf_log_detail.txt").read_text()
    assert '"key": "effective_target_qps", "value": 800' in detail
    text = out.getvalue()
    assert "qps search find: short run 2 at 800 QPS: INVALID (" in text
    assert f"qps search find on fast: {data['found_qps']:.4g} QPS confirmed VALID" in text
    report = next((tmp_path / "reports").glob("qps_search_qps_find_*.md")).read_text()
    assert "Found QPS (confirmed VALID by a full-length run): **" in report
    assert "| 2 | short | 800 | INVALID: " in report
    assert str(tmp_path) not in report  # reports link by relative paths
    assert "](../results/qps_find_" in report


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('nodes = ["fast", "slow"]', "is given together with nodes"),
        ("", None),
    ],
)
def test_search_keys(tmp_path: Path, extra: str, message: str | None) -> None:
    cfg = _cfg(tmp_path, extra)
    if message is None:
        assert load_config(cfg).plan.stages[0].search is not None
        return
    with pytest.raises(ConfigError, match=message):
        load_config(cfg)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('scenario = "Server"', 'scenario = "Offline"', 'finds a Server target_qps, got "Offline"'),
        ("high_qps = 800", "high_qps = 100", "low_qps 200 and high_qps 100 are no bracket"),
        ("backoff = 0.2", "backoff = 0.7", "a fraction below 0.5"),
    ],
)
def test_search_errors(tmp_path: Path, old: str, new: str, message: str) -> None:
    cfg = _cfg(tmp_path)
    cfg.write_text(cfg.read_text().replace(old, new))
    with pytest.raises(ConfigError, match=message):
        load_config(cfg)
