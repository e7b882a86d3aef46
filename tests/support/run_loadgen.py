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


OFFLINE, SERVER = lg.TestScenario.Offline, lg.TestScenario.Server
SINGLE, MULTI = lg.TestScenario.SingleStream, lg.TestScenario.MultiStream
# A generous Server latency bound: a scheduling hiccup on a busy test machine must not make the
# run INVALID.
LATENCY_NS = 1_000_000_000

# Each run kind: the TestSettings fields it sets beyond the common ones, and the tokens each
# sample reports (0: none).
KINDS: dict[str, tuple[dict[str, object], int]] = {
    # Offline: samples_per_query = max(min_query_count, ...).
    "offline": ({"scenario": OFFLINE, "offline_expected_qps": 10, "min_query_count": 120}, 0),
    # 500 queries is above the 459 early stopping needs with no late query.
    "server": ({"scenario": SERVER, "server_target_qps": 2000,
                "server_target_latency_ns": LATENCY_NS, "min_query_count": 500}, 0),
    "singlestream": ({"scenario": SINGLE, "single_stream_expected_latency_ns": 100_000,
                      "min_query_count": 80}, 0),
    "multistream": ({"scenario": MULTI, "multi_stream_expected_latency_ns": 100_000,
                     "multi_stream_samples_per_query": 8, "min_query_count": 30}, 0),
    "accuracy": ({"scenario": SINGLE, "mode": lg.TestMode.AccuracyOnly,
                  "single_stream_expected_latency_ns": 100_000, "min_query_count": 10}, 0),
    "token_server": ({"scenario": SERVER, "server_target_qps": 2000, "use_token_latencies": True,
                      "ttft_latency": 2_000_000_000, "tpot_latency": 200_000_000,
                      "min_query_count": 150}, 50),
    # Every first token misses a 1 us bound while time per output token has room: LoadGen
    # marks the run INVALID on TTFT, and its TPOT early stopping still succeeds.
    "token_server_ttft_fail": ({"scenario": SERVER, "server_target_qps": 2000,
                                "use_token_latencies": True, "ttft_latency": 1_000,
                                "tpot_latency": 200_000_000, "min_query_count": 500}, 50),
    # Many tokens per sample push tokens/s past 1e6: LoadGen then prints "2.24301e+07".
    "token_offline": ({"scenario": OFFLINE, "offline_expected_qps": 10,
                       "use_token_latencies": True, "min_query_count": 100}, 100_000),
    "token_singlestream": ({"scenario": SINGLE, "single_stream_expected_latency_ns": 100_000,
                            "use_token_latencies": True, "min_query_count": 80}, 20),
    "inferred_server": ({"scenario": SERVER, "server_target_qps": 2000,
                         "server_target_latency_ns": LATENCY_NS, "infer_token_latencies": True,
                         "token_latency_scaling_factor": 69, "min_query_count": 150}, 0),
    # Equal-issue mode pads samples_per_query up to a multiple of the performance sample
    # count: 100 requested -> 128 issued with PERF = 32.
    "offline_equal_issue": ({"scenario": OFFLINE, "offline_expected_qps": 10,
                             "sample_concatenate_permutation": True, "min_query_count": 100}, 0),
    # Like the seed pipeline's runs: max_query_count stops the run before all generated
    # queries are issued (LoadGen logs error_runtime "Max query count reached").
    "server_capped": ({"scenario": SERVER, "server_target_qps": 2000,
                       "server_target_latency_ns": LATENCY_NS,
                       "sample_concatenate_permutation": True, "min_query_count": 1,
                       "max_query_count": 10}, 0),
}  # fmt: skip
# An offline run whose user.conf has two mistakes (see `settings_for`).
RUNS = (*KINDS, "bad_userconf")


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
    if kind not in KINDS:
        raise SystemExit(f"unknown run kind {kind!r}; expected one of {', '.join(RUNS)}")
    s.mode = lg.TestMode.PerformanceOnly
    s.min_duration_ms = 0
    s.max_duration_ms = 0
    s.performance_sample_count_override = PERF
    fields, tokens = KINDS[kind]
    for name, value in fields.items():
        setattr(s, name, value)
    return s, tokens


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
