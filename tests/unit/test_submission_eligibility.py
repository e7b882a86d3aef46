"""Eligibility and the checker's headline against logs real submitters published
(tests/data/published), and against copies of them with one detail-log value changed: each
rule is shown broken by a real run that differs from a passing one in that value only."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from engine.loadgen.parse import read_run_logs
from engine.submission.eligibility import Eligibility, assess_run_dir
from engine.submission.headline import checker_headline
from engine.submission.rules import ROUNDS, get_round, resolve_benchmark
from tests.support.paths import DATA

V51 = DATA / "published" / "v5.1" / "closed"
V41 = DATA / "published" / "v4.1" / "closed"
CISCO = V51 / "Cisco" / "results" / "C885_H200x8_TRT" / "llama3.1-8b"
CISCO_SERVER = CISCO / "Server" / "performance" / "run_1"
CISCO_OFFLINE = CISCO / "Offline" / "performance" / "run_1"
CISCO_ACCURACY = CISCO / "Server" / "accuracy"
LENOVO_SS = V51 / "Lenovo/results/SE100_RTX2000E_Ada_16GBx1_TRT/resnet50/SingleStream"
LENOVO_SS = LENOVO_SS / "performance" / "run_1"
HPE_MS = V51 / "HPE/results/HPE_PROLIANT_ML30_RTX_4000_Ada_PCIE_20GBx1_TRT_TRT/retinanet"
HPE_MS = HPE_MS / "MultiStream" / "performance" / "run_1"
AMD_LLAMA = V41 / "AMD/results/8xMI300X_2xEPYC-9374F/llama2-70b-99/Server/performance/run_1"


def edited_copy(src: Path, dst: Path, **values) -> Path:
    """A copy of a published run dir whose detail log has the given keys' values replaced
    (the line's JSON re-encoded; every other byte as published)."""
    shutil.copytree(src, dst)
    detail = dst / "mlperf_log_detail.txt"
    out = []
    for line in detail.read_text().splitlines():
        prefix, body = line.split(" ", 1)
        obj = json.loads(body)
        if obj["key"] in values:
            obj["value"] = values[obj["key"]]
            line = f"{prefix} {json.dumps(obj)}"
        out.append(line)
    detail.write_text("\n".join(out) + "\n")
    return dst


@pytest.mark.parametrize(
    ("run_dir", "model"),
    [
        (CISCO_SERVER, "llama3.1-8b"),
        (CISCO_OFFLINE, "llama3_1-8b"),
        (CISCO_ACCURACY, "llama3.1-8b"),
        (LENOVO_SS, "resnet50"),
        (HPE_MS, "retinanet"),
    ],
    ids=["cisco-server", "cisco-offline", "cisco-accuracy", "lenovo-ss", "hpe-ms"],
)
def test_published_v51_runs_are_submittable_to_v51(run_dir, model):
    e = assess_run_dir(run_dir, "v5.1", model)
    assert e.eligible, e.reasons()
    assert not e.development_run
    assert "rng_seeds" in e.checked and "no_loadgen_errors" in e.checked
    assert e.label() == "submittable (v5.1)"


def test_v51_runs_break_v60s_seeds_with_the_numbers():
    e = assess_run_dir(CISCO_SERVER, "v6.0", "llama3.1-8b")
    assert e.broken_rules == ("rng_seeds",)
    text = e.broken[0].text
    assert "qsl_rng_seed 1780908523862526354 != 2085463073848966840" in text
    assert e.broken[0].source == ROUNDS["v6.0"].seeds_source


def test_a_v41_run_breaks_v51s_seeds_only():
    e = assess_run_dir(AMD_LLAMA, "v5.1", "llama2-70b-99")
    assert e.broken_rules == ("rng_seeds",)
    # The margins are there for the QPS search: AMD ran TPOT within 1% of its 200 ms limit.
    tpot = next(m for m in e.margins if m.name == "TPOT p99")
    assert tpot.limit_ns == 200e6 and 0.98 < tpot.ratio < 1.0


def test_tpot_over_the_limit_is_explained_by_constraint_and_margin(tmp_path):
    run = edited_copy(
        CISCO_SERVER, tmp_path / "run",
        **{"result_time_per_output_token_99.00_percentile_ns": 132_000_000},
    )  # fmt: skip
    e = assess_run_dir(run, "v5.1", "llama3.1-8b")
    assert "llm_tpot_p99" in e.broken_rules
    rule = next(b for b in e.broken if b.rule == "llm_tpot_p99")
    assert rule.text == "TPOT p99 132 ms > 100 ms limit for llama3.1-8b Server"
    assert (rule.value, rule.limit) == (132_000_000, 100_000_000)
    tpot = next(m for m in e.margins if m.name == "TPOT p99")
    assert tpot.text() == "TPOT p99 132 ms vs 100 ms limit (32% over)"


def test_interactive_limits_apply_to_an_interactive_model_name():
    # The Cisco Server run's TTFT p99 (372 ms) is within Interactive's 500 ms, its TPOT p99
    # (12.7 ms) within 30 ms: the Interactive limits are checked, and met.
    e = assess_run_dir(CISCO_SERVER, "v5.1", "llama3_1-8b-interactive")
    assert e.scenario == "Interactive"
    assert {"llm_ttft_p99", "llm_tpot_p99"} <= set(e.checked)
    assert [m.limit_ns for m in e.margins] == [500e6, 30e6]


@pytest.mark.parametrize(
    ("edits", "rule", "text"),
    [
        ({"effective_min_duration_ms": 60000}, "min_duration",
         "min_duration 60000 ms < 600000 ms (600 s) the round requires"),
        ({"effective_performance_sample_count": 100}, "performance_sample_count",
         "performance_sample_count 100 < 13368 required for llama3.1-8b"),
        ({"requested_use_token_latencies": False}, "token_latencies",
         "use_token_latencies is False: llama3.1-8b needs token latencies on"),
        ({"effective_sample_concatenate_permutation": False}, "equal_issue",
         "sample_concatenate_permutation is False: llama3.1-8b runs in equal-issue mode"),
        ({"early_stopping_met": False}, "early_stopping", "early stopping not met"),
        ({"effective_target_latency_ns": 30_000_000_000}, "server_latency_bound",
         "target_latency 3e+04 ms > 2e+04 ms bound for llama3.1-8b Server"),
        ({"result_first_token_99.00_percentile_latency_ns": 2_500_000_000}, "llm_ttft_p99",
         "TTFT p99 2500 ms > 2000 ms limit for llama3.1-8b Server"),
        ({"result_validity": "INVALID"}, "loadgen_valid", "LoadGen's verdict is INVALID"),
    ],
    ids=lambda x: x if isinstance(x, str) and " " not in x else "",
)  # fmt: skip
def test_each_rule_broken_by_one_value_of_a_real_run(tmp_path, edits, rule, text):
    run = edited_copy(CISCO_SERVER, tmp_path / "run", **edits)
    e = assess_run_dir(run, "v5.1", "llama3.1-8b")
    assert rule in e.broken_rules
    broken = next(b for b in e.broken if b.rule == rule)
    assert broken.text.startswith(text)
    assert broken.source


def test_offline_samples_per_query_minimum(tmp_path):
    run = edited_copy(CISCO_OFFLINE, tmp_path / "run", effective_samples_per_query=5000)
    e = assess_run_dir(run, "v5.1", "llama3.1-8b")
    assert "offline_samples_per_query" in e.broken_rules
    assert "samples_per_query 5000 < 13368" in " ".join(e.reasons())
    assert (
        "offline_samples_per_query"
        not in assess_run_dir(run, "v5.1", "llama3.1-8b", division="open").broken_rules
    )


def test_loadgen_errors_are_fatal_but_uncommitted_changes_pass(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(CISCO_SERVER, run)
    detail = run / "mlperf_log_detail.txt"
    lines = detail.read_text().splitlines()
    err = json.loads(lines[-1].split(" ", 1)[1])
    err.update(key="error_uncommitted_loadgen_changes", value="Loadgen built with uncommitted "
               "changes!", metadata={**err["metadata"], "is_error": True})  # fmt: skip
    detail.write_text("\n".join([lines[0], f":::MLLOG {json.dumps(err)}", *lines[1:]]) + "\n")
    assert "no_loadgen_errors" in assess_run_dir(run, "v5.1", "llama3.1-8b").checked
    err.update(key="error_runtime", value="something broke")
    detail.write_text("\n".join([lines[0], f":::MLLOG {json.dumps(err)}", *lines[1:]]) + "\n")
    e = assess_run_dir(run, "v5.1", "llama3.1-8b")
    assert "no_loadgen_errors" in e.broken_rules
    assert "error_runtime: something broke" in " ".join(e.reasons())


def test_an_unknown_model_is_a_development_run():
    e = assess_run_dir(CISCO_SERVER, "v5.1", "demo")
    assert e.development_run and "benchmark_in_round" in e.broken_rules
    assert e.label().startswith("development run (v5.1: benchmark_in_round")


def test_an_accuracy_run_must_cover_the_dataset(tmp_path):
    run = edited_copy(CISCO_ACCURACY, tmp_path / "run", qsl_reported_total_count=100)
    e = assess_run_dir(run, "v5.1", "llama3.1-8b")
    assert "accuracy_full_dataset" in e.broken_rules


def test_eligibility_round_trips_through_json(tmp_path):
    run = edited_copy(CISCO_SERVER, tmp_path / "run", effective_min_duration_ms=0)
    e = assess_run_dir(run, "v6.0", "llama3.1-8b")
    assert Eligibility.from_json(json.loads(json.dumps(e.to_json()))) == e


@pytest.mark.parametrize(
    ("run_dir", "model", "key", "value", "unit"),
    [
        (CISCO_SERVER, "llama3.1-8b", "result_completed_tokens_per_second", 41291, "Tokens/s"),
        (CISCO_OFFLINE, "llama3.1-8b", "result_tokens_per_second", 58304.3, "Tokens/s"),
        (LENOVO_SS, "resnet50", "early_stopping_latency_ss", 0.513395, "Latency (ms)"),
        (HPE_MS, "retinanet", "early_stopping_latency_ms", 29.964648, "Latency (ms)"),
        (AMD_LLAMA, "llama2-70b-99", "result_completed_tokens_per_second", 21028.2, "Tokens/s"),
        (CISCO_SERVER, "demo", "result_completed_samples_per_sec", 320.084, "Queries/s"),
    ],
)
def test_the_checkers_headline(run_dir, model, key, value, unit):
    logs = read_run_logs(run_dir)
    h = checker_headline(logs.detail.values, logs.scenario, model, "v5.1")
    assert (h.key, h.unit) == (key, unit)
    assert h.value == pytest.approx(value, rel=1e-6)


def test_rounds_name_their_sources_and_resolve_names():
    for rnd in ROUNDS.values():
        assert rnd.source.startswith("mlcommons/inference@") and rnd.seeds_source
    assert get_round("6.0").name == "v6.0"
    with pytest.raises(KeyError, match="known: v5.1, v6.0"):
        get_round("v4.0")
    assert resolve_benchmark("llama3_1-8b") == ("llama3.1-8b", None)
    assert resolve_benchmark("llama2-70b-interactive") == ("llama2-70b-99", "Interactive")
    assert resolve_benchmark("demo") == (None, None)
    assert "dlrm-v2-99" in ROUNDS["v5.1"].benchmarks
    assert "dlrm-v2-99" not in ROUNDS["v6.0"].benchmarks
    assert "gpt-oss-120b" in ROUNDS["v6.0"].benchmarks


def test_accuracy_targets_judge_cisco_published_scores():
    import ast

    from engine.submission.accuracy_targets import targets

    text = (CISCO_ACCURACY / "accuracy.txt").read_text()
    scores = ast.literal_eval(next(line for line in text.splitlines() if line.startswith("{")))
    scores = {k: float(v) for k, v in scores.items()}
    found = targets("v5.1", "llama3_1-8b")
    assert [t.metric for t in found] == ["rouge1", "rouge2", "rougeL", "rougeLsum", "gen_len"]
    assert all(t.check(scores.get(t.metric)) is None for t in found)
    rouge1 = found[0]
    assert rouge1.check(38.0) == "rouge1 38 < 38.3914 (99% of 38.7792)"
    assert found[-1].check(9_000_000) == "gen_len 9e+06 > 8.98441e+06 upper limit"
    assert targets("v6.0", "demo") == ()
