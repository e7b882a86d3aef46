"""The accuracy step: after an accuracy-mode run completes, the benchmark's
`accuracy_command` scores the run's `mlperf_log_accuracy.json` on the node (as a submitter
runs the reference `evaluation.py`), its output is kept as `accuracy.txt` in the run dir, and
the scores are checked against the model's targets (`engine.checks.accuracy`).

Why on the node: the accuracy log can be gigabytes and the scoring script needs the dataset
and tokenizer that live there. The command is a template like the harness's command, with two
more placeholders: `{accuracy_log}` (the node-side path of the run's accuracy log) and
`{log_dir}`; it runs in the harness's working directory with the node's env, and in the
benchmark's docker/podman container when it has one (the scoring script's packages are the
image's), a container of its own named after the run's (`<name>-accuracy`).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from engine.checks.accuracy import ACCURACY_FILE, AccuracyRecord, score_record
from engine.errors import LinkLost, MlconsoleError, TransportError
from engine.loadgen.files import LOADGEN_ACCURACY_FILE
from engine.model import Benchmark, NodeSpec
from engine.run.templates import TemplateError, render_template
from engine.transport import containers
from engine.transport.base import Transport

# Reference scoring scripts take minutes on a full dataset (ROUGE over 13,368 articles).
ACCURACY_TIMEOUT_S = 3600.0
ACCURACY_STDERR = "accuracy_stderr.txt"
STEP_PLACEHOLDERS = ("accuracy_log",)


def accuracy_values(values: Mapping[str, str], log_dir: str) -> dict[str, str]:
    """The run's placeholder values plus the accuracy step's own."""
    out = dict(values)
    out["log_dir"] = log_dir
    out["accuracy_log"] = f"{log_dir.rstrip('/')}/{LOADGEN_ACCURACY_FILE}"
    return out


def shell_script(command: str, cwd: str, env: Mapping[str, str]) -> str:
    """The sh script that runs `command` (already quoted) in `cwd` with `env`."""
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    return f"cd {shlex.quote(cwd)} || exit 97\n{exports}{command}\n"


async def run_accuracy_step(
    transport: Transport,
    node: NodeSpec,
    benchmark: Benchmark,
    values: Mapping[str, str],
    *,
    log_dir: str,
    cwd: str,
    run_dir: Path,
    env: Mapping[str, str],
    container_name: str | None = None,
) -> AccuracyRecord:
    """Score the run: never raises for the command's own failures (they are the record's
    `failed` state with the reason); a lost link propagates (the caller reconnects)."""
    assert benchmark.accuracy_command is not None
    template = benchmark.accuracy_command
    try:
        command = render_template(template, accuracy_values(values, log_dir), quote=True)
    except TemplateError as exc:
        return AccuracyRecord("failed", template, None,
                              f"benchmarks.{benchmark.name}.accuracy_command: {exc}")  # fmt: skip
    spec = benchmark.container
    if spec is not None and spec.runtime != "enroot" and container_name is not None:
        # --rm: the container goes with the command; env reaches it by name from the script.
        command = containers.run_line(spec, f"{container_name}-accuracy", command, cwd,
                                      paths=[cwd, log_dir], env_names=list(env))  # fmt: skip
    try:
        res = await transport.run_shell(
            shell_script(command, cwd, env), timeout=ACCURACY_TIMEOUT_S
        )
    except LinkLost:
        raise
    except (TransportError, MlconsoleError, OSError, TimeoutError) as exc:
        return AccuracyRecord(
            "failed", command, None, f"could not run the accuracy command on {node.name}: {exc}"
        )
    (run_dir / ACCURACY_FILE).write_text(res.stdout)
    if res.stderr:
        (run_dir / ACCURACY_STDERR).write_text(res.stderr)
    return score_record(
        res.stdout,
        command=command,
        exit_code=res.exit_status,
        model=benchmark.model,
        level=benchmark.accuracy_level,
    )


async def score_run(ex: object, transport: Transport, ok: bool) -> AccuracyRecord:
    """The accuracy step of a collected run (`engine.run.runner.RunExecution`): scored when
    the run completed, `not_run` otherwise; a lost link is a `failed` step, said so."""
    from engine.run.runner import RunExecution

    assert isinstance(ex, RunExecution) and ex.placement is not None and ex.rendered is not None
    command = ex.benchmark.accuracy_command or ""
    if not ok:
        return AccuracyRecord("not_run", command, None, "the run did not complete")
    p = ex.placement
    log_dir = await ex._log_dir(transport) or p.log_dir
    try:
        return await run_accuracy_step(
            transport, ex.node, ex.benchmark, ex.rendered.values,
            log_dir=log_dir, cwd=p.cwd or p.node_run_dir, run_dir=p.run_dir,
            env=ex.launch_env(),
            container_name=ex.handle.container.name if ex.handle and ex.handle.container else None,
        )  # fmt: skip
    except LinkLost as exc:
        lost = f"the link to {ex.node.name} was lost: {exc}"
        return AccuracyRecord("failed", command, None, lost)
