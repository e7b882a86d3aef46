"""Before a run launches: where it lives (the controller's run dir, the node's run dir, log dir
and working directory) and its launch request, after every check that can refuse it (a
user.conf line LoadGen rejects, a stray audit.config, nowhere to put a compliance test's own)
and the node-side preparation (dirs, a shard's slice of the dataset).

Split from `engine.run.runner`, which follows and collects the run, at the launch: all of this
happens before a process exists on the node, so a refusal here leaves nothing to cancel.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import LaunchRefused
from engine.events import Notice, RunProgressSources
from engine.results.store import SNAPSHOT
from engine.run.audit_config import (
    AUDIT_CONFIG,
    audit_config_dir,
    audit_config_sentence,
    harness_cwd,
    stray_audit_config,
)
from engine.run.log_dir import is_pattern
from engine.run.progress_sources import progress_sources
from engine.run.templates import render_run
from engine.transport import containers
from engine.transport.base import LaunchRequest, Transport

if TYPE_CHECKING:
    from engine.run.runner import RunExecution


@dataclass
class Placement:
    """Where a run lives: on the controller and on the node."""

    run_dir: Path  # controller
    node_run_dir: str
    log_dir: str
    cwd: str


async def place(ex: RunExecution, transport: Transport) -> Placement:
    run_dir = ex.ctx.store.new_run_dir(ex.node.name)
    home = (await transport.home()).rstrip("/")
    base = ex.node.workdir
    if not base.startswith("/"):
        base = f"{home}/{base}"
    node_run_dir = f"{base.rstrip('/')}/runs/{run_dir.name}"
    ex.rendered = render_run(
        ex.node,
        ex.benchmark,
        ex.spec,
        output_dir=node_run_dir,
        user_conf_path=f"{node_run_dir}/user.conf",
    )
    cwd = harness_cwd(ex.benchmark, ex.rendered.values, home=home, run_dir=node_run_dir)
    assert cwd is not None  # every value of the run is known here
    log_dir = ex.rendered.log_dir
    if not log_dir.startswith("/"):
        log_dir = f"{cwd.rstrip('/')}/{log_dir}"
    return Placement(run_dir, node_run_dir, log_dir, cwd)

async def prepare(ex: RunExecution, transport: Transport) -> LaunchRequest:
    from engine.loadgen.userconf import check_user_conf, loadgen_rejects

    p = ex.placement
    assert p is not None
    user_conf = ex.rendered.user_conf or ""
    if ex.ctx.resolve_settings is not None:
        ex.resolution = await ex.ctx.resolve_settings(ex.spec, user_conf)
        if ex.resolution is not None and ex.resolution.user_conf is not None:
            user_conf = ex.resolution.user_conf
    sentence, live = progress_sources(ex.benchmark, ex.spec.mode)
    ex.ctx.bus.publish(RunProgressSources(ex.spec.run_id, sentence, live))
    source = f"benchmarks.{ex.benchmark.name}.user_conf"
    for problem in check_user_conf(user_conf, source=source):
        where = f" line {problem.line}" if problem.line else ""
        if loadgen_rejects(problem):
            raise LaunchRefused(
                f"{source}{where}: {problem.message} (LoadGen would reject "
                "the whole file and run with its defaults)"
            )
        ex.ctx.bus.publish(
            Notice(f"{ex.spec.run_id}: {source}{where}: {problem.message}", "warning")
        )
    home = (await transport.home()).rstrip("/")
    where = audit_config_dir(
        ex.node, ex.benchmark, ex.spec, home=home, run_dir=p.node_run_dir
    )
    if where is not None and await transport.size(f"{where}/{AUDIT_CONFIG}") is not None:
        problem = stray_audit_config(ex.benchmark, where, ex.node.name)
        if ex.compliance is not None:  # its own goes there: nothing else may be
            problem = audit_config_sentence(where, ex.node.name, ex.benchmark.name)
        if problem is not None:
            raise LaunchRefused(problem)
    if ex.compliance is not None:
        if where is None:
            raise LaunchRefused(f"{ex.spec.run_id}: the harness's working directory is "
                                "unknown, so the audit.config has nowhere to go")  # fmt: skip
        await ex.compliance.place(transport, where)
    (p.run_dir / SNAPSHOT).write_text(ex.ctx.snapshot_toml())
    env = ex.launch_env()
    await transport.make_dirs(p.node_run_dir)
    if p.log_dir != p.node_run_dir and not is_pattern(p.log_dir):
        await transport.make_dirs(p.log_dir)
    if ex.benchmark.shard_dataset is not None and ex.spec.group_id is not None:
        await _slice_dataset(ex, transport)
    request = LaunchRequest(
        run_id=ex.spec.run_id,
        run_dir=p.node_run_dir,
        command=ex.rendered.command,
        cwd=p.cwd,
        env=env,
        files={"user.conf": user_conf.encode()},
    )
    if (spec := ex.benchmark.container) is None:
        return request
    name = containers.container_name(ex.spec.run_id, p.run_dir.name)
    paths = [] if is_pattern(p.log_dir) else [p.log_dir]
    return containers.in_container(request, spec, name, paths=paths, node_gpus=ex.node.gpus)

async def _slice_dataset(ex: RunExecution, transport: Transport) -> None:
    """This shard's records of the benchmark's dataset file, into its run dir on the node
    (for harnesses that read the first N records and take no shard offset)."""
    import engine.harness.dataset_slice as slicer

    assert ex.rendered is not None and ex.placement is not None
    from engine.run.templates import render_template

    values = ex.rendered.values
    assert ex.benchmark.shard_dataset is not None
    source = render_template(ex.benchmark.shard_dataset, values, quote=False)
    dest = values["dataset_slice"]
    await transport.make_dirs(dest.rsplit("/", 1)[0])
    script = Path(slicer.__file__).read_text()
    start, count = str(ex.spec.shard_start), str(ex.spec.samples)
    res = await transport.run(
        [ex.node.python, "-c", script, str(source), dest, start, count], timeout=900
    )
    if res.exit_status != 0:
        raise LaunchRefused(
            f"benchmarks.{ex.benchmark.name}.shard_dataset: on {ex.node.name}, "
            + (res.stderr.strip() or f"slicing exited with code {res.exit_status}")
        )
