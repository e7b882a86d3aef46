"""Runs and services inside a container: docker or podman (`run --rm --init` under a name
mlconsole chooses, GPU flags, mounts), and enroot through Slurm's pyxis plugin
(`srun --container-image`).

The container's command line is what `command.sh` holds, so the same detached wrapper starts
it on every transport (its exit code is the harness's). The run's dir, working directory and
log dir are mounted at the same paths, so LoadGen's files land where mlconsole reads them;
the run's environment reaches the container by name (`-e NAME`: the client passes its own
value), never written into a file. A cancel stops the container itself by its name
(`stop --time`, then `rm -f`), since killing the client process that started it leaves a
podman container running under conmon or a docker one under dockerd; the name is recorded
in the journal, so a later console can stop it too.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
from collections.abc import Iterable, Sequence

from engine.errors import TransportError
from engine.model import ContainerSpec
from engine.transport.base import ContainerRef, LaunchRequest, RunHandle, Transport

RUNTIMES = ("docker", "podman", "enroot")
_NAME_BAD = re.compile(r"[^A-Za-z0-9_.-]")
STILL_THERE = "mlconsole: container still there"
PYXIS_FLAG = "--container-image"

__all__ = ["ContainerSpec", "container_name", "run_argv", "run_line", "stop_argv"]


def container_name(run_id: str, unique: str = "") -> str:
    """The name mlconsole gives a run's container: `mlc-<run id>[-<unique>]` (`unique`: the
    run dir's name, so a run id used again by a later plan gets a name of its own),
    characters that a runtime refuses replaced, so the cancel can find it again."""
    text = f"{run_id}-{unique}" if unique else run_id
    return "mlc-" + _NAME_BAD.sub("_", text)[:120]


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


def _same_path_mounts(spec: ContainerSpec, paths: Iterable[str]) -> list[str]:
    """`p:p` for each of mlconsole's own paths that no configured mount already covers."""
    taken = [m.split(":")[1].rstrip("/") for m in spec.mounts if m.count(":") >= 1]
    out: list[str] = []
    for p in dict.fromkeys(x.rstrip("/") for x in paths if x):
        if not any(p == t or p.startswith(t + "/") for t in [*taken, *out]):
            out.append(p)
    return [f"{p}:{p}" for p in out]


def run_argv(
    spec: ContainerSpec,
    name: str,
    command: str,
    cwd: str,
    *,
    paths: Sequence[str] = (),
    env_names: Sequence[str] = (),
) -> list[str]:
    """The argv that runs `command` (a shell line) in the container, in `cwd`. `paths` (the
    run dir, cwd, log dir) are mounted at the same path; `env_names` are passed by name."""
    if spec.runtime not in RUNTIMES:
        raise ValueError(f"unknown container runtime {spec.runtime!r} (expected {RUNTIMES})")
    mounts = [*spec.mounts, *_same_path_mounts(spec, paths)]
    if spec.runtime == "enroot":
        # srun hands its own environment to the step (--export=ALL), the run's env included.
        argv = ["srun", "--overlap", f"--container-image={spec.image}", f"--container-name={name}"]
        if mounts:
            argv.append("--container-mounts=" + ",".join(mounts))
        argv += [f"--container-workdir={cwd}", *spec.options, "sh", "-c", command]
        return argv
    argv = [spec.runtime, "run", "--rm", "--init", "--name", name, *_gpu_flags(spec)]
    for m in mounts:
        argv += ["-v", m]
    for e in env_names:
        argv += ["-e", e]
    argv += ["-w", cwd, *spec.options, spec.image, "sh", "-c", command]
    return argv


def run_line(spec: ContainerSpec, name: str, command: str, cwd: str, **kw: Sequence[str]) -> str:
    """`run_argv` as the one line command.sh holds (every value quoted)."""
    return shlex.join(run_argv(spec, name, command, cwd, **kw))


def in_container(
    request: LaunchRequest,
    spec: ContainerSpec,
    name: str,
    *,
    paths: Sequence[str] = (),
    node_gpus: Sequence[int] | None = None,
) -> LaunchRequest:
    """`request` with its command run in the container `name`, the run dir, cwd and `paths`
    mounted at the same paths and the request's env passed by name. The node's `gpus` are
    the container's devices when the container names none; CUDA_VISIBLE_DEVICES then stays
    outside (the runtime numbers the devices it passes from 0)."""
    if spec.gpus is None and node_gpus is not None and spec.runtime != "enroot":
        spec = dataclasses.replace(spec, gpus=",".join(str(g) for g in node_gpus))
    names = [k for k in request.env if not (k == "CUDA_VISIBLE_DEVICES" and spec.gpus)]
    line = run_line(spec, name, request.command, request.cwd,
                    paths=[request.run_dir, request.cwd, *paths], env_names=names)  # fmt: skip
    return dataclasses.replace(request, command=line)


def stop_argv(spec: ContainerSpec, name: str, grace_s: float = 5.0) -> list[str] | None:
    """What stops the container itself. None for enroot/pyxis: the container is the srun
    step's own processes, which the job's cancel (scancel) or the group's kill ends."""
    if spec.runtime == "enroot":
        return None
    return [spec.runtime, "stop", "--time", str(max(0, round(grace_s))), name]


def stop_script(ref: ContainerRef, grace_s: float = 5.0) -> str:
    """Stop the container by name (TERM, KILL after `grace_s`), remove it if a `--rm` did not,
    and wait until the runtime no longer knows it; exit 0 when gone (or never there)."""
    rt, n = shlex.quote(ref.runtime), shlex.quote(ref.name)
    there = f"{rt} container inspect {n} >/dev/null 2>&1"
    return (
        f"{there} || exit 0\n"
        f"{rt} stop --time {max(0, round(grace_s))} {n} >/dev/null 2>&1\n"
        f"{rt} rm -f {n} >/dev/null 2>&1\n"
        "i=0\n"
        f"while {there}; do\n"
        f'  [ "$i" -ge 100 ] && {{ echo {shlex.quote(STILL_THERE)} >&2; exit 1; }}\n'
        "  sleep 0.1; i=$((i + 1))\n"
        "done\n"
    )


async def stop_container(transport: Transport, handle: RunHandle, grace_s: float = 5.0) -> None:
    """Stop `handle`'s container by its name, where it runs: on the node, or for a Slurm job
    inside the job's allocation (`srun --overlap`). enroot/pyxis needs nothing: the container
    is the job's step. A container that outlives the stop is a TransportError."""
    ref = handle.container
    if ref is None or ref.runtime == "enroot":
        return
    script = stop_script(ref, grace_s)
    in_job = getattr(transport, "in_job", None)
    job = handle.job_id
    if in_job is not None and job is None:  # a service found again by its dir: slurm_job_id
        job = await transport.job_id(handle)  # type: ignore[attr-defined]
    if job and in_job is not None:
        res = await in_job(job).run(["sh", "-c", script], timeout=grace_s + 40)
        if res.exit_status != 0 and STILL_THERE not in res.stderr:
            return  # the job is not running (pending, over): scancel ends what there is
    else:
        res = await transport.run_shell(script, timeout=grace_s + 30)
    if res.exit_status != 0:
        raise TransportError(
            f"container {ref.name} ({ref.runtime}) of run {handle.run_id} on node "
            f"{handle.node!r} is still there after stop and rm -f: "
            f"{res.stderr.strip() or 'no reason given'}"
        )


async def cancel_run(transport: Transport, handle: RunHandle, *, grace_s: float = 5.0) -> None:
    """Cancel a run or service and its container: the container is stopped by name first
    (the client then ends by itself), then the run's processes (or Slurm job) are, and the
    name is stopped once more in case the client created it in between."""
    await stop_container(transport, handle, grace_s)
    await transport.cancel(handle, grace_s=grace_s)
    await stop_container(transport, handle, grace_s)


def probe_argv(spec: ContainerSpec) -> list[str]:
    """Does the runtime answer (preflight)? docker/podman ask their daemon or service (a
    client without a daemon fails); for enroot, whether srun has pyxis's --container-image."""
    if spec.runtime == "enroot":
        return ["sh", "-c", f"srun --help 2>&1 | grep -q -- {PYXIS_FLAG}"]
    return [spec.runtime, "info", "--format", "{{.ServerVersion}}" if spec.runtime == "docker"
            else "{{.Version.Version}}"]  # fmt: skip
