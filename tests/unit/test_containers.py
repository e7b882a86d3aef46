"""The container command lines mlconsole builds (engine/transport/containers.py). Only the
commands are tested: no container runtime runs here (docker's client has no daemon, podman
is not installed), so none of them is executed."""

from __future__ import annotations

import pytest

from engine.transport.containers import (
    ContainerSpec,
    container_name,
    probe_argv,
    run_argv,
    run_line,
    stop_argv,
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
    assert probe_argv(ContainerSpec("enroot", "i")) == ["enroot", "version"]
