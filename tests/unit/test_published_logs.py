"""The LoadGen readers against logs real submitters published (tests/data/published, sources in
its SOURCES.md): several rounds (v4.1 and v5.1), vendors, LoadGen versions (4.0, 4.1, 5.0,
5.1) and every scenario, including an LLM with TTFT/TPOT and accuracy runs.

The expected values are read from the files themselves with a plain `json.loads` per line,
independently of mlconsole's parser, or copied from the files by eye where a test says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.loadgen.inspect import format_inspection, inspect_path
from engine.loadgen.parse import read_run_logs
from engine.loadgen.summary import parse_summary, stat_key
from tests.support.paths import DATA

PUBLISHED = DATA / "published"
V41 = PUBLISHED / "v4.1" / "closed"
V51 = PUBLISHED / "v5.1" / "closed"
CISCO = V51 / "Cisco" / "results" / "C885_H200x8_TRT" / "llama3.1-8b"
AMD_LLAMA = V41 / "AMD/results/8xMI300X_2xEPYC-9374F/llama2-70b-99/Server/performance/run_1"
SUPERMICRO = V41 / "Supermicro/results/1-node-2S-EMR-PyTorch/resnet50/Server/performance/run_1"
DELL_3DUNET = V41 / "Dell/results/XE8640_H100_SXM_80GBx4_TRT/3d-unet-99/Offline"
LENOVO_SS = V51 / "Lenovo/results/SE100_RTX2000E_Ada_16GBx1_TRT/resnet50/SingleStream"
HPE_MS = V51 / "HPE/results/HPE_PROLIANT_ML30_RTX_4000_Ada_PCIE_20GBx1_TRT_TRT/retinanet"
HPE_MS = HPE_MS / "MultiStream"

RUN_DIRS = sorted(p.parent for p in PUBLISHED.rglob("mlperf_log_detail.txt"))


def _detail_values(path: Path) -> dict:
    """The first value of every key, read with nothing but json.loads (as the checker does)."""
    values: dict = {}
    for line in path.read_text().splitlines():
        obj = json.loads(line.split(" ", 1)[1])
        values.setdefault(obj["key"], obj["value"])
    return values


def test_the_published_data_is_all_here():
    # A missing file must fail, not skip: the data is committed with the tests.
    assert len(RUN_DIRS) == 9
    sources = (PUBLISHED / "SOURCES.md").read_text()
    for path in PUBLISHED.rglob("*"):
        if path.is_file() and path.name != "SOURCES.md":
            assert f"`{path.relative_to(PUBLISHED)}`" in sources, path


@pytest.mark.parametrize("run_dir", RUN_DIRS, ids=lambda p: "/".join(p.parts[-5:]))
def test_inspect_json_gives_every_result_key_under_its_own_name(run_dir):
    d = json.loads(json.dumps(inspect_path(run_dir), allow_nan=False))
    expected = {
        k: v
        for k, v in _detail_values(run_dir / "mlperf_log_detail.txt").items()
        if k.startswith(("result_", "early_stopping"))
    }
    assert d["results"] == expected
    assert d["complete"], d["incomplete_reasons"]
    assert d["problems"] == []
    format_inspection(d)  # the human form of every published run renders


@pytest.mark.parametrize(
    "run_dir, version",
    [
        (DELL_3DUNET / "performance" / "run_1", "4.0 @ e34bdc6e82"),
        (SUPERMICRO, "4.1 @ 2ed9555be0"),
        (AMD_LLAMA, "4.1 @ 379ee5345a"),
    ],
)
def test_loadgen_4_runs_are_complete_without_num_errors(run_dir, version):
    logs = read_run_logs(run_dir)
    assert logs.detail.loadgen_version == version
    assert "num_errors" not in logs.detail.values
    assert not logs.detail.writes_num_errors
    assert logs.complete and logs.incomplete_reasons == ()


def test_a_loadgen_4_log_cut_inside_its_results_block_is_incomplete(tmp_path):
    lines = (SUPERMICRO / "mlperf_log_detail.txt").read_text().splitlines(keepends=True)
    (tmp_path / "mlperf_log_detail.txt").write_text("".join(lines[:-3]))
    (tmp_path / "mlperf_log_summary.txt").write_text(
        (SUPERMICRO / "mlperf_log_summary.txt").read_text()
    )
    logs = read_run_logs(tmp_path)
    assert not logs.complete
    assert logs.incomplete_reasons == (
        "the detail log ends before LoadGen 4.1 wrote its results block",
    )


def test_singlestream_and_multistream_headline_is_the_early_stopping_estimate():
    ss = read_run_logs(LENOVO_SS / "performance" / "run_1")
    # Copied from the files: summary "Early stopping 90.0th percentile estimate: 513395",
    # the plain "90.0th percentile latency (ns) : 513380".
    assert ss.headline.key == "early_stopping_latency_ss"
    assert ss.headline.value == 513395 == ss.detail.value("early_stopping_latency_ss")
    assert ss.headline.name == "Early stopping 90.0th percentile estimate"
    assert ss.percentile.value == 513380
    ms = read_run_logs(HPE_MS / "performance" / "run_1")
    assert ms.headline.key == "early_stopping_latency_ms"
    assert ms.headline.value == 29964648
    assert ms.headline.name == "Early stopping 99.0th percentile estimate"
    assert ms.percentile.key == "result_99.00_percentile_per_query_latency_ns"
    assert ms.percentile.value == 29959756


def test_server_figures_come_from_the_detail_log_not_the_summary_text():
    logs = read_run_logs(AMD_LLAMA)
    assert logs.summary.headline.value == 71.74  # "Completed samples per second    : 71.74"
    assert logs.headline.value == 71.7379 == logs.detail.value("result_completed_samples_per_sec")
    assert logs.headline.name == "Completed samples per second"
    assert logs.token_metric.value == logs.detail.value("result_completed_tokens_per_second")
    assert logs.scheduled_rate.value == 73.6649
    cisco = read_run_logs(CISCO / "Server" / "performance" / "run_1")
    assert cisco.headline.value == 320.084 and cisco.summary.headline.value == 320.08


def test_scheduled_samples_per_second_is_a_known_line_with_its_detail_key():
    for run_dir in (SUPERMICRO, AMD_LLAMA, CISCO / "Server" / "performance" / "run_1"):
        s = parse_summary(run_dir / "mlperf_log_summary.txt")
        assert s.problems == ()
        assert stat_key("Scheduled samples per second", "Server") == (
            "result_scheduled_samples_per_sec"
        )
        detail = _detail_values(run_dir / "mlperf_log_detail.txt")
        for name, value in s.additional_stats.items():
            key = stat_key(name, s.scenario)
            assert key is not None, name
            assert value == pytest.approx(detail[key], rel=1e-5, abs=0.006), name


def test_token_early_stopping_results_are_labelled():
    logs = read_run_logs(AMD_LLAMA)
    d = inspect_path(AMD_LLAMA)
    assert d["early_stopping"] == ["TTFT: Run successful.", "TPOT: Run successful."]
    assert "Early stopping: TTFT: Run successful." in format_inspection(d)
    assert logs.detail.value("early_stopping_ttft_result") == " * Run successful."


def test_accuracy_runs_count_the_dataset_not_the_performance_schedule():
    # LoadGen 4.0 logs the performance schedule (1 query of 17,952 samples) in accuracy mode;
    # the run issued each of the 43 KiTS19 cases once.
    logs = read_run_logs(DELL_3DUNET / "accuracy")
    d = logs.detail
    assert d.generated_query_count == 1 and d.generated_samples_per_query == 17952
    assert d.loaded_set_sizes == (43,) and d.value("qsl_reported_total_count") == 43
    assert d.generated_total == 43 == d.accuracy_total
    assert logs.complete
    assert logs.accuracy.truncated  # as published: cut by truncate_accuracy_log.py
    assert logs.samples_processed == 43
    text = format_inspection(inspect_path(DELL_3DUNET / "accuracy"))
    assert "Samples scheduled: 43 in 1 loadable set" in text
    assert "17952 samples scheduled" not in text
    cisco = read_run_logs(CISCO / "Server" / "accuracy")
    assert cisco.samples_processed == 13368 == cisco.detail.accuracy_total
    assert cisco.accuracy.truncated and cisco.problems == ()
