"""Writes small configs of local simulated nodes for tests. The harness is the real bundled
LoadGen harness; only the node speeds are simulated (that is what the harness is for)."""

from __future__ import annotations

import json
from pathlib import Path

from engine.harness.demo_facts import DEMO_DATASET_SIZE, PROGRESS_PATTERN
from tests.support.paths import REPO_ROOT
from tests.support.plans import plan_table

HARNESS = (
    "{python} -m engine.harness.demo --scenario {scenario} --mode {mode} "
    "--total-sample-count {samples} --shard-start {shard_start} --output-dir {output_dir} "
    "--user-conf {user_conf} --model {model} --speed {speed} --concurrency 4"
)


def toml_str(value: object) -> str:
    """`value` as a TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(str(value))


def ssh_node_table(
    lab: object,
    name: str,
    server: object,
    workdir: Path,
    *,
    speed: float,
    env: dict[str, object],
    extra: tuple[str, ...] = (),
) -> list[str]:
    """`[nodes.<name>]` for a simulated node reached over SSH on `server`, an sshd of `lab`
    (tests.support.sshd), with the lab's user, keys and Python."""
    node = lab.node(name, server)  # type: ignore[attr-defined]
    env_items = ", ".join(f"{k} = {toml_str(v)}" for k, v in env.items())
    return [
        f"[nodes.{name}]",
        'transport = "ssh"',
        'host = "127.0.0.1"',
        f"port = {server.port}",  # type: ignore[attr-defined]
        f"user = {toml_str(node.user)}",
        f"identity_file = {toml_str(lab.client_key)}",  # type: ignore[attr-defined]
        f"known_hosts = {toml_str(lab.known_hosts)}",  # type: ignore[attr-defined]
        "use_agent = false",
        f"workdir = {toml_str(workdir)}",
        f"python = {toml_str(node.python)}",
        f"env = {{ {env_items} }}",
        f"vars = {{ speed = {speed:g} }}",
        *extra,
        "simulated = true",
        "",
    ]


def demo_benchmark(command: str = HARNESS, *, user_conf: str | None = None) -> list[str]:
    """The `[benchmarks.demo]` table every test and bench config runs: the bundled harness,
    its progress pattern and dataset size from `engine.harness.demo_facts`. `user_conf` is
    TOML already (a quoted string)."""
    lines = [
        "[benchmarks.demo]",
        f"command = {toml_str(command)}",
        f"dataset_size = {DEMO_DATASET_SIZE}",
        'scenario = "Offline"',
        'model = "demo"',
        f"progress_pattern = {toml_str(PROGRESS_PATTERN)}",
    ]
    if user_conf is not None:
        lines.append(f"user_conf = {user_conf}")
    return [*lines, "simulated = true"]


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
        *demo_benchmark(f"{HARNESS} {extra_args}", user_conf=f'"""{user_conf}"""'),
        bench_extra,
        "",
        plan,
    ]
    path = tmp_path / name
    path.write_text("\n".join(lines))
    return path


def write_ssh_config(
    lab: object, tmp_path: Path, nodes: dict[str, tuple[object, float]], plan: str
) -> Path:
    """A config of one SSH node per entry (its sshd of `lab`, its simulated speed in
    samples/s) running the demo benchmark with `plan`."""
    lines = [
        "[settings]",
        f"results_dir = {toml_str(tmp_path / 'results')}",
        f"reports_dir = {toml_str(tmp_path / 'reports')}",
        "poll_interval_s = 0.1",
        "",
    ]
    for name, (server, speed) in nodes.items():
        lines += ssh_node_table(
            lab, name, server, tmp_path / "nodes" / name, speed=speed,
            env={"PYTHONPATH": REPO_ROOT}, extra=("connect_timeout_s = 5", "login_timeout_s = 10"),
        )  # fmt: skip
    lines += [
        *demo_benchmark(),
        "",
        plan,
    ]
    path = tmp_path / "ssh.toml"
    path.write_text("\n".join(lines))
    return path


def streaming_runs_config(workdir: Path, *, runs: int, speed: float, samples: int) -> Path:
    """The console benches' plan: `runs` local nodes (n01, n02, ...) of `speed` samples/s,
    one sweep stage running `samples` on each side by side, a progress line every 4 samples,
    at the console's default poll interval (0.5 s)."""
    workdir.mkdir(parents=True, exist_ok=True)
    nodes = {f"n{i:02d}": speed for i in range(1, runs + 1)}
    plan = plan_table("sweep", name="busy", nodes=list(nodes), benchmark="demo", samples=[samples])
    path = write_config(workdir, speeds=nodes, plan=plan, extra_args="--progress-every 4")
    path.write_text(path.read_text().replace("poll_interval_s = 0.1", "poll_interval_s = 0.5"))
    return path
