"""The container command lines mlconsole builds (engine/transport/containers.py), and the
container tables of a config. These build the commands only; podman runs them for real in
tests/integration/test_containers.py (docker's client here has no daemon; enroot/pyxis is not
installed: its lines are tested here only)."""

from __future__ import annotations

import shlex

import pytest

from engine.config.load import parse_config, snapshot_toml
from engine.errors import ConfigError
from engine.model import ContainerRef
from engine.transport.base import LaunchRequest
from engine.transport.containers import (
    STILL_THERE,
    ContainerSpec,
    container_name,
    in_container,
    probe_argv,
    run_argv,
    run_line,
    stop_argv,
    stop_script,
)


def test_docker_runs_with_rm_init_its_name_gpus_and_mounts() -> None:
    spec = ContainerSpec("docker", "nvcr.io/nvidia/mlperf:v5.1", gpus="0,1",
                         mounts=("/data:/data:ro", "/w/runs/x:/w/runs/x"))  # fmt: skip
    name = container_name("s1-gpu1-100")
    assert name == "mlc-s1-gpu1-100"
    assert run_argv(spec, name, "python main.py --scenario Offline", "/w/runs/x") == [
        "docker", "run", "--rm", "--init", "--name", "mlc-s1-gpu1-100",
        "--gpus", '"device=0,1"', "-v", "/data:/data:ro", "-v", "/w/runs/x:/w/runs/x",
        "-w", "/w/runs/x", "nvcr.io/nvidia/mlperf:v5.1",
        "sh", "-c", "python main.py --scenario Offline",
    ]  # fmt: skip
    assert stop_argv(spec, name) == ["docker", "stop", "--time", "5", "mlc-s1-gpu1-100"]
    assert run_line(spec, name, "echo 'a b'", "/w").endswith("sh -c 'echo '\"'\"'a b'\"'\"''")


def test_podman_uses_cdi_devices_and_stops_by_the_same_name() -> None:
    spec = ContainerSpec("podman", "img", gpus="all")
    argv = run_argv(spec, "mlc-r", "true", "/w")
    assert argv[:8] == ["podman", "run", "--rm", "--init", "--name", "mlc-r",
                        "--device", "nvidia.com/gpu=all"]  # fmt: skip
    two = run_argv(ContainerSpec("podman", "img", gpus="0,2"), "mlc-r", "true", "/w")
    assert two[6:10] == ["--device", "nvidia.com/gpu=0", "--device", "nvidia.com/gpu=2"]
    assert stop_argv(spec, "mlc-r", grace_s=10) == ["podman", "stop", "--time", "10", "mlc-r"]


def test_enroot_through_pyxis_is_an_srun_step_stopped_with_the_job() -> None:
    spec = ContainerSpec("enroot", "nvcr.io#nvidia/mlperf:v5.1", mounts=("/data:/data",))
    assert run_argv(spec, "mlc-r", "make run_harness", "/w") == [
        "srun", "--overlap", "--container-image=nvcr.io#nvidia/mlperf:v5.1",
        "--container-name=mlc-r", "--container-mounts=/data:/data",
        "--container-workdir=/w", "sh", "-c", "make run_harness",
    ]  # fmt: skip
    assert stop_argv(spec, "mlc-r") is None  # scancel ends the step, container included


def test_names_are_ones_a_runtime_accepts_and_unknown_runtimes_are_refused() -> None:
    assert container_name("s1 a/b:c") == "mlc-s1_a_b_c"
    with pytest.raises(ValueError, match="unknown container runtime 'lxc'"):
        run_argv(ContainerSpec("lxc", "img"), "n", "true", "/")


def test_the_runtime_probes_ask_the_daemon_not_only_the_client() -> None:
    assert probe_argv(ContainerSpec("docker", "i")) == [
        "docker", "info", "--format", "{{.ServerVersion}}"
    ]  # fmt: skip
    assert probe_argv(ContainerSpec("podman", "i"))[:2] == ["podman", "info"]
    # enroot runs through pyxis: usable when srun offers its --container-image
    assert probe_argv(ContainerSpec("enroot", "i")) == [
        "sh", "-c", "srun --help 2>&1 | grep -q -- --container-image"
    ]  # fmt: skip


def test_a_run_in_a_container_mounts_its_dirs_passes_env_by_name_and_the_node_gpus() -> None:
    request = LaunchRequest("r1", "/w/runs/r1", "python h.py", "/w/runs/r1",
                            env={"HF_TOKEN": "s3cret", "CUDA_VISIBLE_DEVICES": "2,3"})  # fmt: skip
    spec = ContainerSpec("docker", "img", mounts=("/w/runs:/w/runs",))
    wrapped = in_container(request, spec, "mlc-r1", paths=["/data/logs"], node_gpus=(2, 3))
    argv = shlex.split(wrapped.command)
    assert argv[:8] == ["docker", "run", "--rm", "--init", "--name", "mlc-r1",
                        "--gpus", '"device=2,3"']  # fmt: skip
    # the run dir is under a configured mount: only the log dir is added
    assert argv.count("-v") == 2 and "/data/logs:/data/logs" in argv
    # values stay out of the command line; the devices are renumbered: no CUDA_VISIBLE_DEVICES
    assert "s3cret" not in wrapped.command and argv[argv.index("-e") + 1] == "HF_TOKEN"
    assert "CUDA_VISIBLE_DEVICES" not in wrapped.command
    assert wrapped.env == request.env and argv[-3:] == ["sh", "-c", "python h.py"]


def test_the_stop_script_stops_then_removes_and_waits_until_the_name_is_gone() -> None:
    script = stop_script(ContainerRef("podman", "mlc-r 1"))
    assert script.splitlines()[0] == "podman container inspect 'mlc-r 1' >/dev/null 2>&1 || exit 0"
    assert "podman stop --time 5 'mlc-r 1'" in script and "podman rm -f 'mlc-r 1'" in script
    assert STILL_THERE in script


CONFIG = """
[nodes.a]
transport = "local"
[benchmarks.b]
command = "true"
dataset_size = 10
[benchmarks.b.container]
{container}
[[plan]]
kind = "run"
benchmark = "b"
nodes = ["a"]
samples = 1
"""


@pytest.mark.parametrize(
    ("table", "key", "says"),
    [
        ('image = "i"', "benchmarks.b.container.runtime", "is missing"),
        ('runtime = "lxc"\nimage = "i"', "benchmarks.b.container.runtime", 'got "lxc"'),
        ('runtime = "podman"', "benchmarks.b.container.image", "is missing"),
        ('runtime = "podman"\nimage = "i"\ngpus = "one"', "benchmarks.b.container.gpus",
         "got 'one'"),
        ('runtime = "podman"\nimage = "i"\nmounts = ["/a:/b", "data"]',
         "benchmarks.b.container.mounts[2]", "got 'data'"),
        ('runtime = "podman"\nimage = "i"\noptions = ["ipc=host"]',
         "benchmarks.b.container.options", "got ['ipc=host']"),
        ('runtime = "podman"\nimage = "i"\nimgae = "j"', "benchmarks.b.container.imgae",
         "is not a key of a container table"),
        ('runtime = "enroot"\nimage = "i"', "benchmarks.b.container.runtime",
         "runs through Slurm's pyxis"),
    ],
)  # fmt: skip
def test_container_tables_are_checked_naming_file_key_and_line(
    table: str, key: str, says: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(CONFIG.format(container=table), "c.toml")
    assert err.value.key == key and says in str(err.value)
    assert err.value.line is not None and err.value.line >= 7


def test_a_valid_container_table_reaches_the_benchmark_and_the_snapshot() -> None:
    text = CONFIG.format(container='runtime = "podman"\nimage = "i"\ngpus = [0, 1]\n'
                         'mounts = ["/d:/d:ro"]\noptions = ["--ipc=host"]')  # fmt: skip
    config = parse_config(text, "c.toml")
    assert config.benchmarks["b"].container == ContainerSpec(
        "podman", "i", gpus="0,1", mounts=("/d:/d:ro",), options=("--ipc=host",)
    )
    again = parse_config(snapshot_toml(config), "snapshot.toml")
    assert again.benchmarks["b"].container == config.benchmarks["b"].container


def test_enroot_is_accepted_on_slurm_nodes_and_preflight_asks_for_the_plans_runtimes() -> None:
    from engine.run.container_preflight import runtimes_on

    text = CONFIG.format(container='runtime = "enroot"\nimage = "nvcr.io#nvidia/pytorch:24.05-py3"')
    text = text.replace('transport = "local"', 'transport = "slurm"')
    text += '[services.s]\nport = 8000\ncommand = "serve {port}"\n'
    text += '[services.s.container]\nruntime = "podman"\nimage = "i"\n'
    text += '[benchmarks.f]\ndataset = "synthetic"\ndataset_size = 10\n'
    text += '[[plan]]\nkind = "fleet"\nnodes = ["a"]\nservice = "s"\nbenchmark = "f"\nsamples = 1\n'
    config = parse_config(text, "c.toml")
    assert runtimes_on(config, config.nodes["a"]) == ("enroot", "podman")
