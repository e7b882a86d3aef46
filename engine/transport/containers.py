"""The command lines of a run or service inside a container: docker or podman
(`run --rm --init` under a name mlconsole chooses, GPU flags, mounts), and enroot through
Slurm's pyxis plugin (`srun --container-image`).

Not wired into the config or the transports yet (issue 12, item 5): this module builds and
names the commands, so that a cancel can stop the container itself by its name (`docker
stop NAME`), not only the client process that started it, and a preflight can ask whether
the runtime answers. Tested on the command lines only: no container runtime runs on the test
machines (docker's client is present without a daemon; podman is not installed).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

RUNTIMES = ("docker", "podman", "enroot")
_NAME_BAD = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class ContainerSpec:
    runtime: str  # docker | podman | enroot (pyxis: srun --container-image)
    image: str
    gpus: str | None = None  # "all", or device indexes "0,1"; None: no GPU
    mounts: tuple[str, ...] = ()  # "host_path:container_path[:ro]"
    options: tuple[str, ...] = ()  # extra runtime flags, one argument each


def container_name(run_id: str) -> str:
    """The name mlconsole gives the container of a run: `mlc-<run id>`, characters that a
    runtime refuses replaced, so the cancel can find it again."""
    return "mlc-" + _NAME_BAD.sub("_", run_id)[:120]


def _gpu_flags(spec: ContainerSpec) -> list[str]:
    if spec.gpus is None:
        return []
    if spec.runtime == "docker":
        value = "all" if spec.gpus == "all" else f'"device={spec.gpus}"'
        return ["--gpus", value]
    # podman: the CDI devices of nvidia-container-toolkit
    if spec.gpus == "all":
        return ["--device", "nvidia.com/gpu=all"]
    return [x for g in spec.gpus.split(",") for x in ("--device", f"nvidia.com/gpu={g.strip()}")]


def run_argv(spec: ContainerSpec, name: str, command: str, cwd: str) -> list[str]:
    """The argv that runs `command` (a shell line) in the container, in `cwd` (which one of
    the mounts must hold: the run dir is mounted at the same path)."""
    if spec.runtime not in RUNTIMES:
        raise ValueError(f"unknown container runtime {spec.runtime!r} (expected {RUNTIMES})")
    if spec.runtime == "enroot":
        argv = ["srun", "--overlap", f"--container-image={spec.image}", f"--container-name={name}"]
        if spec.mounts:
            argv.append("--container-mounts=" + ",".join(spec.mounts))
        argv += [f"--container-workdir={cwd}", *spec.options, "sh", "-c", command]
        return argv
    argv = [spec.runtime, "run", "--rm", "--init", "--name", name, *_gpu_flags(spec)]
    for m in spec.mounts:
        argv += ["-v", m]
    argv += ["-w", cwd, *spec.options, spec.image, "sh", "-c", command]
    return argv


def run_line(spec: ContainerSpec, name: str, command: str, cwd: str) -> str:
    """`run_argv` as the one line command.sh holds (every value quoted)."""
    return shlex.join(run_argv(spec, name, command, cwd))


def stop_argv(spec: ContainerSpec, name: str, grace_s: float = 5.0) -> list[str] | None:
    """What stops the container itself. None for enroot/pyxis: the container is the srun
    step's own processes, which the job's cancel (scancel) or the group's kill ends."""
    if spec.runtime == "enroot":
        return None
    return [spec.runtime, "stop", "--time", str(max(0, round(grace_s))), name]


def probe_argv(spec: ContainerSpec) -> list[str]:
    """Does the runtime answer (preflight)? docker/podman ask their daemon or service for its
    version (a client without a daemon fails); enroot prints its own."""
    if spec.runtime == "enroot":
        return ["enroot", "version"]
    return [spec.runtime, "info", "--format", "{{.ServerVersion}}" if spec.runtime == "docker"
            else "{{.Version.Version}}"]  # fmt: skip
