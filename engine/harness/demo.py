"""A real MLPerf LoadGen harness whose SUT simulates a GPU node.

    python -m engine.harness.demo --scenario Offline --total-sample-count 200 --output-dir out

LoadGen (mlperf_loadgen) is real: it issues the queries, times them and writes
mlperf_log_summary.txt, mlperf_log_detail.txt and mlperf_log_accuracy.json. The node is not:
no model runs and no GPU is used; each sample occupies one of `--concurrency` slots for
`concurrency / speed` seconds. The first line of stdout says so, and so does docs/harness.md.

Exit codes: 0 done; 2 bad arguments or a user.conf LoadGen rejects; 3 `--crash-after`;
N `--exit-code-after N` (after LoadGen wrote complete logs); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from engine.harness.node import SimulatedNode
from engine.harness.settings import MODES, SCENARIOS, RunRequest, SettingsError

_NAME = "demo harness"


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def _int_at_least(low: int):
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {text}")
        return value

    return parse


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line; flag names are a contract with the orchestrator's templates."""
    p = argparse.ArgumentParser(
        prog="python -m engine.harness.demo",
        description="Real MLPerf LoadGen run against a SIMULATED GPU node (no model, no GPU).",
    )
    p.add_argument("--scenario", choices=SCENARIOS, default="Offline")
    p.add_argument("--mode", choices=MODES, default="performance")
    p.add_argument(
        "--total-sample-count",
        type=_int_at_least(1),
        required=True,
        metavar="N",
        help="QSL size: the samples this run processes",
    )
    p.add_argument(
        "--shard-start",
        type=_int_at_least(0),
        default=0,
        metavar="K",
        help="dataset index of this shard's first sample (sample i stands for K+i)",
    )
    p.add_argument("--output-dir", default=".", metavar="DIR", help="where LoadGen writes logs")
    p.add_argument("--user-conf", default=None, metavar="FILE", help="LoadGen user.conf")
    p.add_argument("--model", default="demo", help="model name for user.conf keys")
    p.add_argument(
        "--speed",
        type=_positive_float,
        default=20.0,
        metavar="S",
        help="simulated samples/s with every slot busy (default 20)",
    )
    p.add_argument(
        "--concurrency",
        type=_int_at_least(1),
        default=4,
        metavar="C",
        help="simulated parallel slots; one sample takes C/S seconds (default 4)",
    )
    p.add_argument(
        "--tokens",
        type=_int_at_least(0),
        default=0,
        metavar="T",
        help="output tokens per sample; >= 2 turns on token latencies (default 0)",
    )
    p.add_argument(
        "--target-qps",
        type=_positive_float,
        default=None,
        metavar="Q",
        help="Server/Offline expected QPS (default: --speed)",
    )
    p.add_argument("--trace", action="store_true", help="write LoadGen's trace")
    p.add_argument(
        "--accuracy-log-probability",
        type=_probability,
        default=None,
        metavar="P",
        help="fraction (0..1) of performance-mode samples logged to the accuracy log",
    )
    p.add_argument(
        "--progress-every",
        type=_int_at_least(1),
        default=None,
        metavar="N",
        help="print a progress line every N completed samples (default: ~20 lines per run)",
    )
    p.add_argument(
        "--load-time",
        type=_non_negative_float,
        default=0.0,
        metavar="SECONDS",
        help="simulated model-loading time before LoadGen starts",
    )
    p.add_argument(
        "--exit-code-after",
        type=_int_at_least(0),
        default=0,
        metavar="N",
        help="exit with code N after LoadGen wrote complete logs",
    )
    p.add_argument(
        "--crash-after",
        type=_int_at_least(0),
        default=None,
        metavar="K",
        help="exit abruptly (code 3) after K completed samples",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the service-time jitter")
    return p


def _say(text: str) -> None:
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except (OSError, ValueError):
        from engine.harness.sut import discard_stdout

        discard_stdout()


def _flush_stdout() -> None:
    """Flush what was said, so stderr lines come after it."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        from engine.harness.sut import discard_stdout

        discard_stdout()


def _fail(text: str) -> None:
    _flush_stdout()
    sys.stderr.write(f"{_NAME}: error: {text}\n")
    sys.stderr.flush()


def start_line(args: argparse.Namespace, node: SimulatedNode) -> str:
    """The first stdout line: what runs, on which shard, and that the node is simulated."""
    first = args.shard_start
    last = first + args.total_sample_count
    tokens = f", {node.tokens} tokens/sample" if node.tokens else ""
    return (
        f"{_NAME}: SIMULATED node speed (no model, no GPU): "
        f"scenario {args.scenario}, mode {args.mode}, {args.total_sample_count} samples, "
        f"shard [{first}, {last}), simulated speed {node.speed:g} samples/s "
        f"({node.concurrency} slots, {node.service_s:.4g} s/sample{tokens}), model {args.model}"
    )


def _flush_c_stdout() -> None:
    """Push LoadGen's C++ stdout copy of the summary out before our own closing lines."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    args = build_parser().parse_args(argv)
    node = SimulatedNode(
        speed=args.speed, concurrency=args.concurrency, tokens=args.tokens, seed=args.seed
    )
    _say(start_line(args, node))
    if args.tokens == 1:
        _fail("--tokens must be 0 (no token latencies) or at least 2 (TPOT needs two tokens)")
        return 2
    if args.user_conf is not None and not os.path.isfile(args.user_conf):
        _fail(f"--user-conf {args.user_conf} does not exist or is not a file")
        return 2
    try:
        os.makedirs(args.output_dir, exist_ok=True)
    except OSError as e:
        _fail(f"cannot create --output-dir {args.output_dir}: {e.strerror}")
        return 2

    import mlperf_loadgen as lg

    from engine.harness.settings import build_settings

    request = RunRequest(
        scenario=args.scenario,
        mode=args.mode,
        total_sample_count=args.total_sample_count,
        model=args.model,
        target_qps=args.target_qps if args.target_qps is not None else args.speed,
        node=node,
        user_conf=args.user_conf,
        accuracy_log_probability=args.accuracy_log_probability,
    )
    try:
        resolved = build_settings(request)
    except SettingsError as e:
        _fail(str(e))
        return 2
    for line in resolved.ignored_lines:
        sys.stderr.write(
            f"{_NAME}: warning: LoadGen ignores {args.user_conf}:{line} without a word "
            "(write `key = value`, with spaces around '=')\n"
        )
    expected = resolved.expected_samples
    _say(
        f"settings: mlperf.conf, then harness defaults, then user.conf; "
        f"expect {expected if expected is not None else 'LoadGen-decided'} samples; "
        f"user.conf overrides: {', '.join(resolved.overridden) or 'none'}"
    )

    if args.load_time > 0:
        _say(f"loading simulated model ({args.load_time:g} s)")
        time.sleep(args.load_time)

    from engine.harness.sut import ProgressReporter, SimulatedSut

    log_settings = lg.LogSettings()
    log_settings.log_output.outdir = os.path.abspath(args.output_dir)
    log_settings.log_output.copy_summary_to_stdout = True
    log_settings.enable_trace = args.trace

    progress = ProgressReporter(
        expected,
        args.progress_every,
        os.path.join(log_settings.log_output.outdir, "mlperf_log_detail.txt"),
    )
    sut = SimulatedSut(
        node,
        shard_start=args.shard_start,
        token_latencies=resolved.token_latencies,
        progress=progress,
        crash_after=args.crash_after,
    )
    n = args.total_sample_count
    qsl = lg.ConstructQSL(n, n, _load_samples, _unload_samples)
    lg_sut = lg.ConstructSUT(sut.issue_queries, sut.flush_queries)
    _say("running LoadGen")
    lg.StartTestWithLogSettings(lg_sut, qsl, resolved.settings, log_settings)
    sut.stop()
    lg.DestroySUT(lg_sut)
    lg.DestroyQSL(qsl)
    _flush_c_stdout()

    wall = time.monotonic() - started
    _say(
        f"done: {progress.completed} samples completed, wall time {wall:.2f} s "
        f"(includes {args.load_time:g} s simulated loading)"
    )
    if args.exit_code_after:
        sys.stderr.write(
            f"{_NAME}: exiting with code {args.exit_code_after} on purpose after a complete run "
            "(--exit-code-after)\n"
        )
    return args.exit_code_after


def _load_samples(indices: object) -> None:
    """The simulated node has no data to load."""


def _unload_samples(indices: object) -> None:
    """Nothing was loaded."""


def run() -> None:
    """Entry point for `python -m engine.harness.demo`."""
    try:
        code = main()
    except KeyboardInterrupt:
        _fail("interrupted")
        code = 130
    sys.exit(code)


if __name__ == "__main__":
    run()
