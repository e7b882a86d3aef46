"""The demo harness's facts that configs, tests and benchmarks repeat: the progress line it
prints and the pattern a config follows it with, and the dataset size the demo benchmarks
declare. One home, so the printer (`engine.harness.sut.ProgressReporter`), the starter config,
the test configs and bench/ cannot drift apart.
"""

from __future__ import annotations

from engine.loadgen.models import MODELS

# What a config's `progress_pattern` reads the demo's lines with (configs/demo.toml says it too).
PROGRESS_PATTERN = r"progress (?P<completed>\d+)/(?P<total>\d+)"

# The demo benchmarks are CNN/DailyMail-sized, as gptj's and llama3.1-8b's evaluation set.
DEMO_DATASET_SIZE = MODELS["llama3_1-8b"].dataset_size


def progress_line(completed: int, total: int) -> str:
    """One line of the demo harness's progress, as `PROGRESS_PATTERN` matches it."""
    return f"progress {completed}/{total} samples"
