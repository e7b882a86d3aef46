"""The LoadGen log readers against real files: the reference logs from the field, and logs the
real LoadGen (mlcommons-loadgen, installed in the venv) writes during this test run with a tiny
SUT that answers every sample at once (tests/support/run_loadgen.py)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from engine.loadgen.inspect import format_inspection, inspect_path, sniff_kind
from engine.loadgen.parse import (
    Metric,
    Problem,
    headline_from_detail,
    parse_accuracy,
    parse_detail,
    parse_summary,
    read_run_logs,
    token_metric_from_detail,
)
from engine.loadgen.progress import (
    AccuracyProgress,
    DetailProgress,
    TraceProgress,
    progress_from_stdout,
)
from tests.support.paths import REFERENCE, RUN_LOADGEN
from tests.support.run_loadgen import RUNS

SEED = REFERENCE / "seed-logs"
OFFICIAL = REFERENCE / "official-logs" / "amd-8xmi300x-llama2-70b-server"
RUNNER = RUN_LOADGEN

ALL_RUNS = RUNS
PERF_RUNS = tuple(kind for kind in RUNS if kind != "accuracy")
RUNNER_OUTPUT = "runner_output.txt"  # the runner's stdout and stderr, kept beside the logs


def _json_roundtrip(d: dict) -> dict:
    """JSON as `--json` would write it: strict (no NaN), and back."""
    return json.loads(json.dumps(d, allow_nan=False))


# --- the real LoadGen --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """One LoadGen run per kind, all started at once (each well under a second). Each runs in
    its own empty directory: LoadGen would pick up an audit.config from its cwd."""
    root = tmp_path_factory.mktemp("loadgen_runs")
    procs = {}
    for kind in ALL_RUNS:
        out = root / kind
        out.mkdir()
        procs[kind] = subprocess.Popen(
            [sys.executable, str(RUNNER), kind, "."],
            cwd=out,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    for kind, proc in procs.items():
        output, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"LoadGen run {kind} failed: {output.decode()[-2000:]}"
        (root / kind / RUNNER_OUTPUT).write_bytes(output)
    return {kind: root / kind for kind in ALL_RUNS}


def _trace_count(path: Path) -> int:
    progress = TraceProgress()
    with path.open(encoding="utf-8", errors="replace") as fh:
        progress.feed(fh)
    return progress.completed


@pytest.mark.parametrize("kind", PERF_RUNS)
def test_a_finished_performance_run_reads_back_as_loadgen_wrote_it(runs, kind):
    logs = read_run_logs(runs[kind])
    s, d = logs.summary, logs.detail
    assert logs.complete and logs.incomplete_reasons == ()
    assert logs.problems == ()  # includes the summary-vs-detail cross checks
    assert (
        logs.mode == "performance" and s.mode == "performance" and d.test_mode == "PerformanceOnly"
    )
    assert s.scenario == d.scenario == logs.scenario
    assert s.sut_name == "PySUT"
    # Summary and detail log agree on everything both hold.
    assert s.validity == d.validity == logs.validity
    assert s.conditions == d.conditions
    assert s.headline is not None and s.headline.key is not None
    assert s.headline.value == pytest.approx(float(d.value(s.headline.key)), rel=2e-5, abs=0.006)
    derived = headline_from_detail(d)
    assert derived.name == s.headline.name and derived.key == s.headline.key
    if s.token_metric:
        assert s.token_metric.value == pytest.approx(
            float(d.value(s.token_metric.key)), rel=2e-5, abs=0.006
        )
        assert token_metric_from_detail(d).name == s.token_metric.name
    if s.queries_processed is not None:
        assert s.queries_processed == d.result_query_count
    # What LoadGen processed equals what the trace saw complete.
    assert logs.samples_processed == d.result_query_count * d.generated_samples_per_query
    assert logs.samples_processed == _trace_count(runs[kind] / "mlperf_log_trace.json")
    assert logs.trace_bytes and logs.trace_bytes > 0
    assert s.errors_count == len(d.errors) == len(logs.loadgen_errors)
    assert s.warnings_count == len(d.warnings)
    assert set(s.test_parameters) >= {
        "samples_per_query",
        "min_duration (ms)",
        "min_query_count",
        "performance_sample_count",
    }
    assert all(m.unit in ("samples/s", "tokens/s", "ns", "queries/s") for m in s.metrics)
    assert _json_roundtrip(logs.to_dict())["samples_processed"] == logs.samples_processed


def test_offline_headline_is_samples_per_second_over_one_query(runs):
    logs = read_run_logs(runs["offline"])
    assert logs.headline.name == "Samples per second"
    assert logs.headline.unit == "samples/s"
    assert logs.headline.key == "result_samples_per_second"
    assert logs.validity == "VALID" and logs.validity_reasons == ()
    assert logs.detail.result_query_count == 1
    assert logs.samples_processed == 120 == logs.generated_total
    assert logs.summary.early_stopping == {}  # Offline prints no early-stopping block
    assert logs.token_metric is None


def test_equal_issue_offline_counts_the_padded_samples_not_the_setting(runs):
    logs = read_run_logs(runs["offline_equal_issue"])
    assert logs.detail.effective_samples_per_query == 100
    assert logs.detail.generated_samples_per_query == 128
    assert logs.samples_processed == 128
    assert logs.summary.test_parameters["samples_per_query"] == 100
    assert any(
        n.startswith("WARNING: sample_concatenate_permutation") for n in logs.summary.notices
    )


def test_server_headline_and_successful_early_stopping(runs):
    logs = read_run_logs(runs["server"])
    s = logs.summary
    assert s.headline == Metric(
        "Completed samples per second",
        s.headline.value,
        "samples/s",
        "result_completed_samples_per_sec",
    )
    assert s.validity == "VALID"
    assert s.conditions == {
        "performance_constraints": True,
        "min_duration": True,
        "min_queries": True,
        "early_stopping": True,
    }
    assert s.early_stopping == {"Early Stopping Result": ("Run successful.",)}
    assert s.recommendations == ()
    assert logs.samples_processed == 500
    assert s.additional_stats["Scheduled samples per second"] == pytest.approx(
        logs.detail.value("result_scheduled_samples_per_sec"), abs=0.006
    )
    assert s.additional_stats["99.00 percentile latency (ns)"] == logs.detail.value(
        "result_99.00_percentile_latency_ns"
    )
    assert s.test_parameters["target_latency (ns)"] == 1_000_000_000


def test_singlestream_headline_is_the_percentile_line_and_the_estimate_is_kept(runs):
    logs = read_run_logs(runs["singlestream"])
    s, d = logs.summary, logs.detail
    assert s.headline.name == "90.0th percentile latency (ns)"
    assert s.headline.unit == "ns"
    assert s.headline.key == "result_90.00_percentile_latency_ns"
    assert s.early_stopping_estimate.key == "early_stopping_latency_ss"
    assert s.early_stopping_estimate.value == d.value("early_stopping_latency_ss")
    assert s.queries_processed == 80  # "Processed at least 64 queries (80)."
    assert "QPS w/ loadgen overhead" in s.additional_stats


def test_multistream_counts_eight_samples_per_query_and_explains_invalid(runs):
    logs = read_run_logs(runs["multistream"])
    s = logs.summary
    assert s.headline.name == "99.0th percentile latency (ns)"
    assert s.headline.key == "result_99.00_percentile_per_query_latency_ns"
    assert logs.detail.result_query_count == 30
    assert logs.samples_processed == 240
    assert s.validity == "INVALID"
    assert s.recommendations == ()  # LoadGen prints an empty "Recommendations:" header
    assert s.early_stopping["Early Stopping Result"] == (
        "Only processed 30 queries.",
        "Need to process at least 662 queries for early stopping.",
    )
    assert logs.validity_reasons == (
        "Early stopping not satisfied: Only processed 30 queries. Need to process at least 662 "
        "queries for early stopping.",
    )
    assert logs.detail.invalid_reasons == logs.validity_reasons


def test_token_server_run(runs):
    s = read_run_logs(runs["token_server"]).summary
    assert s.token_metric.name == "Completed tokens per second"
    assert s.token_metric.unit == "tokens/s"
    assert s.token_metric.key == "result_completed_tokens_per_second"
    assert s.early_stopping["TTFT Early Stopping Result"] == ()
    assert s.early_stopping["TPOT Early Stopping Result"][0] == "Run unsuccessful."
    assert s.test_parameters["ttft_latency (ns)"] == 2_000_000_000
    assert "50.00 percentile time to output token (ns)" in s.additional_stats
    assert "Mean First Token latency (ns)" in s.additional_stats


def test_a_token_run_invalid_on_ttft_says_which_bound_by_how_much(runs):
    logs = read_run_logs(runs["token_server_ttft_fail"])
    assert logs.validity == "INVALID"
    reasons = logs.validity_reasons
    ttft = logs.detail.value("result_first_token_99.00_percentile_latency_ns")
    assert reasons[0] == (
        f"Latency constraint not met: TTFT p99 {ttft / 1e6:.4g} ms > 0.001 ms ttft_latency "
        f"({(ttft / 1000 - 1) * 100:.0f}% over)."
    )
    # Each early-stopping text is labelled with what it judged; TTFT failed, TPOT passed.
    assert reasons[1].startswith("Early stopping not satisfied: TTFT: Run unsuccessful.")
    assert reasons[1].endswith(" TPOT: Run successful.")
    assert inspect_path(runs["token_server_ttft_fail"])["early_stopping"][-1] == (
        "TPOT: Run successful."
    )
    # LoadGen's reason and its identical recommendation are said once.
    assert sum("TTFT constrain not met" in r for r in reasons) == 1


def test_token_offline_tokens_per_second_in_scientific_notation(runs):
    logs = read_run_logs(runs["token_offline"])
    text = (runs["token_offline"] / "mlperf_log_summary.txt").read_text()
    assert re.search(r"^Tokens per second: \d\.\d+e\+\d+$", text, re.M)  # e.g. 3.00549e+10
    assert logs.token_metric.name == "Tokens per second"
    assert logs.token_metric.value > 1e6
    assert logs.token_metric.value == float(logs.detail.value("result_tokens_per_second"))


def test_token_singlestream_first_token_percentile(runs):
    logs = read_run_logs(runs["token_singlestream"])
    assert logs.token_metric.name == "90.0th first token percentile latency (ns)"
    assert logs.token_metric.key == "result_first_token_90.00_percentile_latency_ns"
    assert set(logs.summary.early_stopping) == {
        "TTFT Early Stopping Result",
        "TPOT Early Stopping Result",
    }


def test_inferred_token_server(runs):
    logs = read_run_logs(runs["inferred_server"])
    assert logs.token_metric.name == "Completed tokens per second (inferred)"
    assert logs.token_metric.key == "result_inferred_completed_tokens_per_second"


def test_a_run_stopped_by_max_query_count_processes_fewer_than_it_generated(runs):
    """The seed pipeline's situation: more samples generated than LoadGen processed."""
    logs = read_run_logs(runs["server_capped"])
    assert logs.generated_total == 32
    assert logs.samples_processed == 10
    assert logs.summary.errors_count == 1
    assert logs.loadgen_errors[0][0] == "error_runtime"
    assert "Max query count reached" in logs.loadgen_errors[0][1]
    d = inspect_path(runs["server_capped"])
    assert "LoadGen processed 10 of the 32 samples it generated." in d["notes"]
    text = format_inspection(d)
    assert "Samples processed: 10" in text
    assert "Max query count reached" in text


def test_user_conf_errors_logged_before_the_run_have_garbage_times(runs):
    """LoadGen logs a user.conf's errors before the test starts, and where they land is a race
    in its logger (seen on a loaded machine): usually in the detail log, with a time that
    wrapped around below zero, and counted in the summary; sometimes flushed to stdout before
    the detail log was opened, and then neither the detail log nor the summary has them. Each
    case is checked exactly; the errors are never lost from both places."""
    logs = read_run_logs(runs["bad_userconf"])
    d = logs.detail
    errors = (
        ("error_invalid_config", "value needs to be integer or double, line=1"),
        ("error_invalid_config", "expected 'key=value', line=2"),
    )
    stdout = (runs["bad_userconf"] / RUNNER_OUTPUT).read_text()
    if d.errors:
        assert d.errors[:2] == errors
        assert d.entries[0].time_ms > 1e12  # unsigned wrap-around: LoadGen logged them early
        assert logs.summary.errors_count == 2
    else:  # flushed to stdout first: the detail log and the summary know of no error
        assert all(f'"value": "{value}"' in stdout for _, value in errors), stdout[:2000]
        assert logs.summary.errors_count == 0
    assert "FromConfig returned -22" in stdout
    assert logs.complete


def test_accuracy_run(runs):
    logs = read_run_logs(runs["accuracy"])
    s, d, a = logs.summary, logs.detail, logs.accuracy
    assert s.accuracy_footer and s.complete and s.mode == "accuracy"
    assert s.headline is None and s.validity is None
    assert (runs["accuracy"] / "mlperf_log_summary.txt").stat().st_size == 74
    assert "num_errors" not in d.values  # LoadGen writes none in accuracy mode
    assert d.complete and d.mode == "accuracy"
    assert d.generated_query_count == 32  # one loadable set...
    assert d.generated_total == 64 == d.value("effective_accuracy_sample_count")  # ...of two
    assert a.entries == 64 and a.closed and a.problems == ()
    assert logs.complete and logs.problems == ()
    assert logs.samples_processed == 64
    assert logs.validity is None and logs.validity_reasons == ()
    assert logs.headline is None
    assert _trace_count(runs["accuracy"] / "mlperf_log_trace.json") == 64


# --- live progress -----------------------------------------------------------------------------


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def test_detail_progress_knows_the_total_from_the_setup_lines(runs):
    lines = _lines(runs["server"] / "mlperf_log_detail.txt")
    cut = next(i for i, line in enumerate(lines) if '"generated_query_duration"' in line)
    progress = DetailProgress()
    progress.feed(lines[: cut - 2])  # before generated_query_count
    assert progress.total is None
    progress.feed(lines[cut - 2 : cut + 1])
    assert progress.total == 500 and not progress.finished
    progress.feed(lines[cut + 1 :])
    assert progress.finished and progress.errors == []


def test_detail_progress_in_accuracy_mode_and_with_errors(runs):
    progress = DetailProgress()
    progress.feed(_lines(runs["accuracy"] / "mlperf_log_detail.txt")[:80])
    assert progress.test_mode == "AccuracyOnly"
    assert progress.total == 64  # effective_accuracy_sample_count, not the first set's 32
    capped = DetailProgress()
    capped.feed(_lines(runs["server_capped"] / "mlperf_log_detail.txt"))
    assert capped.total == 32 and capped.errors[0][0] == "error_runtime"


def test_trace_and_accuracy_progress_count_completed_samples(runs):
    trace = TraceProgress()
    lines = _lines(runs["multistream"] / "mlperf_log_trace.json")
    trace.feed(lines[: len(lines) // 2])
    half = trace.completed
    trace.feed(lines[len(lines) // 2 :])
    assert 0 < half < trace.completed == 240
    acc = AccuracyProgress()
    acc.feed(_lines(runs["accuracy"] / "mlperf_log_accuracy.json")[:11])  # "[" + 10 records
    assert acc.completed == 10


def test_progress_from_stdout():
    tqdm = re.compile(r"(?P<completed>\d+)/(?P<total>\d+) \[")
    line = " 10%|█         | 20/200 [00:05<00:45]\r 15%|█▌        | 30/200 [00:07<00:40]"
    assert progress_from_stdout(tqdm, line) == (30, 200)
    gptj = re.compile(r"Completed :\s+(?P<completed>\d+)")
    assert progress_from_stdout(gptj, "Completed :  5") == (5, None)
    assert progress_from_stdout(gptj, "Loading PyTorch model...") is None


# --- the reference logs ------------------------------------------------------------------------


@pytest.mark.parametrize("node, rate, tokens", [("jw2", 0.16, 20.49), ("jw3", 0.34, 43.63)])
def test_seed_summaries_say_100_samples_were_processed(node, rate, tokens):
    s = parse_summary(SEED / f"{node}_performance_200samples.txt")
    assert s.problems == () and s.complete
    assert (s.scenario, s.mode, s.sut_name) == ("Server", "performance", "PySUT")
    assert s.headline == Metric(
        "Completed samples per second", rate, "samples/s", "result_completed_samples_per_sec"
    )
    assert s.token_metric == Metric(
        "Completed tokens per second", tokens, "tokens/s", "result_completed_tokens_per_second"
    )
    assert s.validity == "INVALID"
    assert s.conditions == {
        "performance_constraints": False,
        "min_duration": False,
        "min_queries": True,
        "early_stopping": False,
    }
    assert s.recommendations == (
        "TTFT constrain not met: Reduce target QPS to improve latency.",
        "Increase the target QPS so the loadgen pre-generates more queries.",
    )
    assert s.early_stopping["TTFT Early Stopping Result"] == ()
    assert s.early_stopping["TPOT Early Stopping Result"][1] == "Processed 100 queries."
    assert s.queries_processed == 100 and s.samples_processed == 100
    assert s.test_parameters["max_query_count"] == 100
    assert s.test_parameters["performance_sample_count"] == 13368
    assert s.test_parameters["ttft_latency (ns)"] == 2_000_000_000
    assert s.errors_count == 1 and s.warnings_count == 0
    assert s.additional_stats["Scheduled samples per second"] == 106.03
    assert s.additional_stats["Completed tokens per second"] == tokens
    assert "99.00 percentile time to output token (ns)" in s.additional_stats
    assert len(s.notices) == 1


@pytest.mark.parametrize(
    "node, version", [("jw2", "5.1.0 @ c57507b122"), ("jw3", "5.1.0 @ 3cebd5ee48")]
)
def test_seed_distributed_files_are_unfinished_accuracy_detail_logs(node, version):
    path = SEED / f"{node}_distributed_performance.txt"
    assert sniff_kind(path) == "detail"
    d = parse_detail(path)
    assert d.problems == () and len(d.entries) == 72
    assert d.value("loadgen_version") == version
    assert (d.scenario, d.test_mode) == ("Server", "AccuracyOnly")
    assert d.generated_query_count == 200 and d.generated_samples_per_query == 1
    assert d.generated_total == 200 == d.accuracy_total
    assert d.value("effective_max_query_count") == 100
    assert d.result_query_count is None and d.samples_processed is None
    assert not d.complete and d.validity is None and d.errors == ()
    info = _json_roundtrip(inspect_path(path))
    assert info["kind"] == "detail" and info["complete"] is False
    assert info["generated_total"] == 200 and info["samples_processed"] is None
    text = format_inspection(info)
    assert "INCOMPLETE" in text and "Samples processed: unknown" in text


def test_official_summary_and_its_run_dir_without_a_detail_log():
    s = parse_summary(OFFICIAL / "mlperf_log_summary.txt")
    assert s.problems == () and s.complete and s.validity == "VALID"
    assert s.headline.value == 71.74 and s.token_metric.value == 21028.23
    assert s.conditions == dict.fromkeys(
        ("performance_constraints", "min_duration", "min_queries", "early_stopping"), True
    )
    assert s.early_stopping == {
        "TTFT Early Stopping Result": ("Run successful.",),
        "TPOT Early Stopping Result": ("Run successful.",),
    }
    assert s.test_parameters["target_qps"] == 73.5
    assert s.test_parameters["qsl_rng_seed"] == 3066443479025735752
    assert s.samples_processed is None  # "Run successful." gives no count
    logs = read_run_logs(OFFICIAL)
    assert not logs.complete and logs.incomplete_reasons == ("no detail log",)
    assert logs.headline.value == 71.74 and logs.validity_reasons == ()
    assert [p.file.endswith("mlperf_log_detail.txt") for p in logs.problems] == [True]


def test_every_reference_log_parses_cleanly_and_inspects_as_json():
    files = sorted(p for p in REFERENCE.rglob("*.txt"))
    assert len(files) >= 5
    for path in files:
        kind = sniff_kind(path)
        assert kind in ("summary", "detail"), path
        parsed = parse_summary(path) if kind == "summary" else parse_detail(path)
        assert parsed.problems == (), path
        info = _json_roundtrip(inspect_path(path))
        assert info["kind"] == kind
        assert format_inspection(info).startswith(str(path))


def test_inspect_seed_summary_for_humans():
    text = format_inspection(inspect_path(SEED / "jw2_performance_200samples.txt"))
    assert "Completed samples per second: 0.16 samples/s" in text
    assert "Validity: INVALID" in text
    assert "Minimum duration not met" in text
    assert "Samples processed: 100" in text
    assert "max_query_count" in text


# --- damaged and missing files -----------------------------------------------------------------


def test_truncated_summaries(runs, tmp_path):
    text = (runs["server"] / "mlperf_log_summary.txt").read_text()
    before_result = tmp_path / "a.txt"
    before_result.write_text(text[: text.index("Result is")])
    s = parse_summary(before_result)
    assert not s.complete and s.validity is None and s.headline is not None
    assert s.incomplete_reason == "the summary has no 'Result is' line"
    assert any("no 'Result is' line" in p.message for p in s.problems)
    before_footer = tmp_path / "b.txt"
    before_footer.write_text(text[: text.index("No warnings")])
    s = parse_summary(before_footer)
    assert s.validity == "VALID" and not s.complete
    assert any("cut off" in p.message for p in s.problems)


def test_empty_binary_and_missing_files_give_problems_not_exceptions(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    binary = tmp_path / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 8)
    missing = tmp_path / "missing.txt"
    for path in (empty, binary, missing):
        s, d, a = parse_summary(path), parse_detail(path), parse_accuracy(path)
        for parsed in (s, d, a):
            assert parsed.problems, (path, parsed)
            assert all(isinstance(p, Problem) for p in parsed.problems)
            _json_roundtrip(parsed.to_dict())
        assert not s.complete and not d.complete and not a.closed
    assert any("NUL" in p.message for p in parse_summary(binary).problems)
    assert any("UTF-8" in p.message for p in parse_summary(binary).problems)
    assert any("empty" in p.message for p in parse_summary(empty).problems)
    assert parse_summary(missing).problems[0].message == "file not found"
    for path in (empty, binary, missing, tmp_path):
        _json_roundtrip(inspect_path(path))
        format_inspection(inspect_path(path))


def test_partly_corrupt_detail_log_keeps_its_good_lines(runs, tmp_path):
    lines = (runs["offline"] / "mlperf_log_detail.txt").read_text().splitlines(keepends=True)
    lines[10] = "\x00\xff garbage that is not a log line\n"
    lines[20] = lines[20][: len(lines[20]) // 2] + "\n"  # a JSON object cut in half
    lines.insert(30, lines[29])  # a duplicated key
    text = "".join(lines)
    path = tmp_path / "detail.txt"
    path.write_text(text[: text.rindex("num_errors") - 10])  # and the last line cut off
    d = parse_detail(path)
    assert d.validity == "VALID" and d.result_query_count == 1
    assert not d.complete
    where = {p.line: p.message for p in d.problems}
    assert "not a LoadGen log line" in where[11]
    assert "not valid JSON" in where[21]
    assert any("appears 2 times" in m for m in where.values())
    assert "cut off" in where[len(text[: text.rindex("num_errors")].splitlines())]


def test_an_interrupted_run_is_incomplete(runs, tmp_path):
    """What SIGINT leaves: an empty summary, a detail log with only its setup lines, the
    accuracy log's opening bracket."""
    lines = (runs["server"] / "mlperf_log_detail.txt").read_text().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if '"generated_query_duration"' in line)
    (tmp_path / "mlperf_log_detail.txt").write_text("".join(lines[: cut + 1]))
    (tmp_path / "mlperf_log_summary.txt").write_text("")
    (tmp_path / "mlperf_log_accuracy.json").write_text("[")
    trace = (runs["server"] / "mlperf_log_trace.json").read_text().splitlines(keepends=True)
    (tmp_path / "mlperf_log_trace.json").write_text("".join(trace[: len(trace) // 2]))
    logs = read_run_logs(tmp_path)
    assert not logs.complete
    assert logs.incomplete_reasons == (
        "the summary is empty or unreadable (LoadGen writes it when a run ends)",
        "the detail log has no num_errors line (LoadGen writes it last)",
    )
    assert logs.generated_total == 500 and logs.samples_processed is None
    assert logs.headline is None and logs.validity is None
    assert logs.accuracy.entries == 0 and not logs.accuracy.closed
    info = _json_roundtrip(inspect_path(tmp_path))
    assert info["complete"] is False and info["samples_processed"] is None
    assert 0 < info["trace_samples_completed"] < 500
    text = format_inspection(info)
    assert "Status: INCOMPLETE: the summary is empty" in text
    assert f"The trace records {info['trace_samples_completed']} completed samples" in text


def test_missing_run_dir_and_missing_files(tmp_path):
    logs = read_run_logs(tmp_path / "nowhere")
    assert not logs.complete and logs.problems[0].message == "not a directory"
    logs = read_run_logs(tmp_path)
    assert not logs.complete and logs.samples_processed is None
    assert len(logs.problems) == 2 and logs.trace_bytes is None


def test_partial_accuracy_logs_are_counted_line_by_line(runs, tmp_path):
    lines = (runs["accuracy"] / "mlperf_log_accuracy.json").read_text().splitlines(True)
    path = tmp_path / "acc.json"
    path.write_text("".join(lines[:6]))  # "[" and five records, still being written
    a = parse_accuracy(path)
    assert (a.entries, a.opened, a.closed) == (5, True, False)
    path.write_text("[\n")
    assert parse_accuracy(path).entries == 0
    records = json.loads((runs["accuracy"] / "mlperf_log_accuracy.json").read_text())
    path.write_text(json.dumps(records[:7]))  # another writer's layout: all on one line
    assert parse_accuracy(path).entries == 7 and parse_accuracy(path).problems == ()
    path.write_text("".join(lines[:-2]) + '{ "seq_id" : 1, \n]\n')  # closed but corrupt
    a = parse_accuracy(path)
    assert a.closed and any("not valid JSON" in p.message for p in a.problems)


def test_endpoints_prefix_and_odd_values_in_a_detail_log(tmp_path):
    path = tmp_path / "detail.txt"
    entry = {
        "key": "result_validity",
        "value": "VALID",
        "time_ms": 1.5,
        "metadata": {"is_error": False, "is_warning": False},
    }
    warning = {
        "key": "warning_generic_message",
        "value": "PerfClock and system_clock differ",
        "time_ms": 2,
        "metadata": {"is_error": False, "is_warning": True},
    }
    path.write_text(
        f":::ENDPTS {json.dumps(entry)}\n:::MLLOG {json.dumps(warning)}\n"
        ':::MLLOG {"key": "num_errors", "value": 0, "time_ms": 3, "metadata": {}}\n'
    )
    d = parse_detail(path)
    assert d.validity == "VALID" and d.complete and d.problems == ()
    assert d.warnings == (("warning_generic_message", "PerfClock and system_clock differ"),)


def test_summary_numbers_that_are_not_finite_stay_json_safe(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text(
        "MLPerf Results Summary\nSUT name : X\nScenario : Offline\n"
        "Mode     : PerformanceOnly\nSamples per second: nan\nResult is : VALID\n"
        "\nAdditional Stats\nMin latency (ns)                : inf\n"
        "Mystery line\n\nNo warnings encountered during test.\n\n"
        "1 ERROR encountered. See detailed log.\n"
    )
    s = parse_summary(path)
    assert s.complete and s.errors_count == 1
    d = _json_roundtrip(s.to_dict())
    assert d["headline"]["value"] is None and d["additional_stats"]["Min latency (ns)"] is None
    assert [p.line for p in s.problems] == [10]
