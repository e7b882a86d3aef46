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

from engine.harness.cli_args import int_at_least, non_negative_float, positive_float, probability
from engine.harness.node import SimulatedNode
from engine.harness.settings import MODES, SCENARIOS, RunRequest, SettingsError

_NAME = "demo harness"


# Every flag, in --help's order: names and meanings are a contract with the orchestrator's
# templates.
_FLAGS: tuple[tuple[str, dict], ...] = (
    ("--scenario", {"choices": SCENARIOS, "default": "Offline"}),
    ("--mode", {"choices": MODES, "default": "performance"}),
    ("--total-sample-count", {"type": int_at_least(1), "required": True, "metavar": "N",
                              "help": "QSL size: the samples this run processes"}),
    ("--shard-start", {
        "type": int_at_least(0), "default": 0, "metavar": "K",
        "help": "dataset index of this shard's first sample (sample i stands for K+i)"}),
    ("--output-dir", {"default": ".", "metavar": "DIR", "help": "where LoadGen writes logs"}),
    ("--user-conf", {"default": None, "metavar": "FILE", "help": "LoadGen user.conf"}),
    ("--model", {"default": "demo", "help": "model name for user.conf keys"}),
    ("--speed", {"type": positive_float, "default": 20.0, "metavar": "S",
                 "help": "simulated samples/s with every slot busy (default 20)"}),
    ("--concurrency", {
        "type": int_at_least(1), "default": 4, "metavar": "C",
        "help": "simulated parallel slots; one sample takes C/S seconds (default 4)"}),
    ("--tokens", {"type": int_at_least(0), "default": 0, "metavar": "T",
                  "help": "output tokens per sample; >= 2 turns on token latencies (default 0)"}),
    ("--target-qps", {"type": positive_float, "default": None, "metavar": "Q",
                      "help": "Server/Offline expected QPS (default: --speed)"}),
    ("--trace", {"action": "store_true", "help": "write LoadGen's trace"}),
    ("--accuracy-log-probability", {
        "type": probability, "default": None, "metavar": "P",
        "help": "fraction (0..1) of performance-mode samples logged to the accuracy log"}),
    ("--progress-every", {
        "type": int_at_least(1), "default": None, "metavar": "N",
        "help": "print a progress line every N completed samples (default: ~20 lines per run)"}),
    ("--load-time", {"type": non_negative_float, "default": 0.0, "metavar": "SECONDS",
                     "help": "simulated model-loading time before LoadGen starts"}),
    ("--exit-code-after", {"type": int_at_least(0), "default": 0, "metavar": "N",
                           "help": "exit with code N after LoadGen wrote complete logs"}),
    ("--crash-after", {"type": int_at_least(0), "default": None, "metavar": "K",
                       "help": "exit abruptly (code 3) after K completed samples"}),
    ("--seed", {"type": int, "default": 0, "help": "seed of the service-time jitter"}),
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The command line (`_FLAGS`)."""
    p = argparse.ArgumentParser(
        prog="python -m engine.harness.demo",
        description="Real MLPerf LoadGen run against a SIMULATED GPU node (no model, no GPU).",
    )
    for flag, options in _FLAGS:
        p.add_argument(flag, **options)
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
