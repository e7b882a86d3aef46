"""Where a run's live progress comes from, said before it starts.

LoadGen writes its summary only at the end and its detail log only at the start and the end
(mlperf-facts.md 2.4), so a run moves only if something else is followed: the harness's own
progress lines (`progress_pattern`, on stdout, stderr or both), LoadGen's trace (one line per
completed sample; on when the harness writes it), or in accuracy mode the accuracy log (one
record per completed sample). The total comes from the detail log's generated_* lines.
"""

from __future__ import annotations

from engine.model import Benchmark, Mode

STREAM_WORDS = {"stdout": "stdout", "stderr": "stderr", "both": "stdout and stderr"}


def progress_sources(bench: Benchmark, mode: Mode) -> tuple[str, bool]:
    """(sentence, live): what this benchmark's runs will be followed by, and whether anything
    will move before the end."""
    parts: list[str] = []
    if bench.progress_pattern:
        stream = STREAM_WORDS.get(bench.progress_stream, bench.progress_stream)
        parts.append(f"the harness's lines on {stream} matching {bench.progress_pattern!r}")
    if bench.trace:
        parts.append("LoadGen's trace (one line per completed sample)")
    if mode == Mode.ACCURACY:
        parts.append("the accuracy log (one record per completed sample)")
    total = "total from LoadGen's detail log (generated_query_count x generated_samples_per_query)"
    if parts:
        return f"progress from {' and '.join(parts)}; {total}", True
    hint = (
        f"set trace = true (the harness's {bench.trace_flag} is added)"
        if bench.trace_flag
        else "set progress_pattern to a line the harness prints per sample or batch"
    )
    return (
        "no live progress: the harness prints no progress line mlconsole knows and LoadGen's "
        f"trace is off; only the end is seen ({hint})",
        False,
    )
