"""Runs the real LoadGen once with a tiny in-process SUT, so the parser tests read real files.

Usage: python run_loadgen.py KIND OUTDIR

KIND is one of the names in `RUNS`. The SUT completes every sample inside `issue_queries`
(no sleeps), so each run lasts well under a second. The run's cwd should be an empty
directory: LoadGen picks up an `audit.config` from the cwd.

TestSettings fields are set directly: `FromConfig` would load the embedded mlperf.conf with its
10-minute min_duration.
"""

from __future__ import annotations

import array
import sys

import mlperf_loadgen as lg

TOTAL = 64  # QSL size
PERF = 32  # performance sample count


def settings_for(kind: str) -> tuple[lg.TestSettings, int]:
    """The TestSettings of one run kind, and the tokens each sample reports (0: none)."""
    s = lg.TestSettings()
    if kind == "bad_userconf":
        # A user.conf with two mistakes: LoadGen logs each as error_invalid_config (with a
        # garbage time_ms, as they are logged before the run) and applies nothing from it.
        with open("user.conf", "w") as fh:
            fh.write("*.Offline.target_qps = 5 # trailing comment\n*.Offline.min_duration 0\n")
        rc = s.FromConfig("user.conf", "mlconsole-test", "Offline", 1)
        print(f"FromConfig returned {rc}")
        kind = "offline"
    s.mode = lg.TestMode.PerformanceOnly
    s.min_duration_ms = 0
    s.max_duration_ms = 0
    s.performance_sample_count_override = PERF
    tokens = 0
    if kind == "offline":
        s.scenario = lg.TestScenario.Offline
        s.offline_expected_qps = 10
        s.min_query_count = 120  # Offline: samples_per_query = max(min_query_count, ...)
    elif kind == "server":
        s.scenario = lg.TestScenario.Server
        s.server_target_qps = 2000
        # A generous bound: a scheduling hiccup on a busy test machine must not make the run
        # INVALID. 500 queries is above the 459 early stopping needs with no late query.
        s.server_target_latency_ns = 1_000_000_000
        s.min_query_count = 500
    elif kind == "singlestream":
        s.scenario = lg.TestScenario.SingleStream
        s.single_stream_expected_latency_ns = 100_000
        s.min_query_count = 80
    elif kind == "multistream":
        s.scenario = lg.TestScenario.MultiStream
        s.multi_stream_expected_latency_ns = 100_000
        s.multi_stream_samples_per_query = 8
        s.min_query_count = 30
    elif kind == "accuracy":
        s.scenario = lg.TestScenario.SingleStream
        s.mode = lg.TestMode.AccuracyOnly
        s.single_stream_expected_latency_ns = 100_000
        s.min_query_count = 10
    elif kind == "token_server":
        s.scenario = lg.TestScenario.Server
        s.server_target_qps = 2000
        s.use_token_latencies = True
        s.ttft_latency = 2_000_000_000
        s.tpot_latency = 200_000_000
        s.min_query_count = 150
        tokens = 50
    elif kind == "token_server_ttft_fail":
        # Every first token misses a 1 us bound while time per output token has room: LoadGen
        # marks the run INVALID on TTFT, and its TPOT early stopping still succeeds.
        s.scenario = lg.TestScenario.Server
        s.server_target_qps = 2000
        s.use_token_latencies = True
        s.ttft_latency = 1_000
        s.tpot_latency = 200_000_000
        s.min_query_count = 500
        tokens = 50
    elif kind == "token_offline":
        s.scenario = lg.TestScenario.Offline
        s.offline_expected_qps = 10
        s.use_token_latencies = True
        s.min_query_count = 100
        # Many tokens per sample push tokens/s past 1e6: LoadGen then prints "2.24301e+07".
        tokens = 100_000
    elif kind == "token_singlestream":
        s.scenario = lg.TestScenario.SingleStream
        s.single_stream_expected_latency_ns = 100_000
        s.use_token_latencies = True
        s.min_query_count = 80
        tokens = 20
    elif kind == "inferred_server":
        s.scenario = lg.TestScenario.Server
        s.server_target_qps = 2000
        s.server_target_latency_ns = 1_000_000_000
        s.infer_token_latencies = True
        s.token_latency_scaling_factor = 69
        s.min_query_count = 150
    elif kind == "offline_equal_issue":
        # Equal-issue mode pads samples_per_query up to a multiple of the performance sample
        # count: 100 requested -> 128 issued with PERF = 32.
        s.scenario = lg.TestScenario.Offline
        s.offline_expected_qps = 10
        s.sample_concatenate_permutation = True
        s.min_query_count = 100
    elif kind == "server_capped":
        # Like the seed pipeline's runs: max_query_count stops the run before all generated
        # queries are issued (LoadGen logs error_runtime "Max query count reached").
        s.scenario = lg.TestScenario.Server
        s.server_target_qps = 2000
        s.server_target_latency_ns = 1_000_000_000
        s.sample_concatenate_permutation = True
        s.min_query_count = 1
        s.max_query_count = 10
    else:
        raise SystemExit(f"unknown run kind {kind!r}; expected one of {', '.join(RUNS)}")
    return s, tokens


RUNS = (
    "offline",
    "server",
    "singlestream",
    "multistream",
    "accuracy",
    "token_server",
    "token_server_ttft_fail",
    "token_offline",
    "token_singlestream",
    "inferred_server",
    "offline_equal_issue",
    "server_capped",
    "bad_userconf",
)


def main(kind: str, outdir: str) -> None:
    settings, tokens = settings_for(kind)
    # LoadGen copies `length` bytes from this address into the accuracy log.
    data = array.array("B", [1, 2, 3, 4])
    ptr, length = data.buffer_info()

    def issue_queries(samples):
        if tokens:
            lg.FirstTokenComplete([lg.QuerySampleResponse(q.id, ptr, length, 1) for q in samples])
            done = [lg.QuerySampleResponse(q.id, ptr, length, tokens) for q in samples]
        else:
            done = [lg.QuerySampleResponse(q.id, ptr, length) for q in samples]
        lg.QuerySamplesComplete(done)

    def flush_queries():
        pass

    def load(indices):
        pass

    sut = lg.ConstructSUT(issue_queries, flush_queries)
    qsl = lg.ConstructQSL(TOTAL, PERF, load, load)
    log = lg.LogSettings()
    log.log_output.outdir = outdir
    log.log_output.copy_summary_to_stdout = False
    log.enable_trace = True
    lg.StartTestWithLogSettings(sut, qsl, settings, log)
    lg.DestroyQSL(qsl)
    lg.DestroySUT(sut)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
