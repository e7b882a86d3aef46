"""Writes small configs of local simulated nodes for tests. The harness is the real bundled
LoadGen harness; only the node speeds are simulated (that is what the harness is for)."""

from __future__ import annotations

from pathlib import Path

HARNESS = (
    "{python} -m engine.harness.demo --scenario {scenario} --mode {mode} "
    "--total-sample-count {samples} --shard-start {shard_start} --output-dir {output_dir} "
    "--user-conf {user_conf} --model {model} --speed {speed} --concurrency 4"
)


def write_config(
    tmp_path: Path,
    *,
    speeds: dict[str, float] | None = None,
    plan: str = "",
    extra_args: str = "",
    user_conf: str = "",
    bench_extra: str = "",
    settings_extra: str = "",
    name: str = "test.toml",
) -> Path:
    """A config with one local node per entry of `speeds` (samples/s) and the given plan.

    results/ and reports/ go under tmp_path; node workdirs too."""
    speeds = speeds or {"slow": 100.0, "fast": 210.0}
    lines = [
        "[settings]",
        f'results_dir = "{tmp_path / "results"}"',
        f'reports_dir = "{tmp_path / "reports"}"',
        "poll_interval_s = 0.1",
        settings_extra,
        "",
    ]
    for node, speed in speeds.items():
        lines += [
            f"[nodes.{node}]",
            'transport = "local"',
            f'workdir = "{tmp_path / "nodes" / node}"',
            "simulated = true",
            f"vars = {{ speed = {speed} }}",
            "",
        ]
    lines += [
        "[benchmarks.demo]",
        f'command = "{HARNESS} {extra_args}"',
        "dataset_size = 13368",
        'scenario = "Offline"',
        'model = "demo"',
        "progress_pattern = 'progress (?P<completed>\\d+)/(?P<total>\\d+)'",
        f'user_conf = """{user_conf}"""',
        "simulated = true",
        bench_extra,
        "",
        plan,
    ]
    path = tmp_path / name
    path.write_text("\n".join(lines))
    return path
