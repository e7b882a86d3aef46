"""Command templates: `{name}` placeholders filled from config values, quoted for the shell.

A template is the harness command (or log_dir, cwd, user.conf text) as the config writes it.
Values come from the config and the plan and may hold anything (`;`, `$(...)`, quotes,
spaces), so in a shell command every value is `shlex.quote`d: a value is always one word and
never runs. Paths and user.conf text are rendered raw (`quote=False`) because they are data,
not shell input. `{{` and `}}` stand for literal braces (write `${{HOME}}` for `${HOME}`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from engine.errors import MlconsoleError
from engine.model import Benchmark, NodeSpec, RunSpec, ServiceSpec

# What every run offers to its benchmark's templates; a node's `vars` add more.
BUILTIN_PLACEHOLDERS = frozenset(
    {
        "samples",
        "scenario",
        "mode",
        "output_dir",
        "user_conf",
        "shard_start",
        "shard_count",
        "node",
        "run_id",
        "python",
        "model",
        "log_dir",
        "dataset_size",
        "dataset_slice",  # only with the benchmark's shard_dataset
    }
)
# Where a shard's dataset slice goes, inside its node-side run dir (a subdir: not fetched).
SLICE_DIR = "data"

# What a service's command may use besides the node's `vars`.
SERVICE_PLACEHOLDERS = frozenset({"port", "port_file", "model", "python", "node", "service_dir"})

_TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|[{}]")


class TemplateError(MlconsoleError):
    """A template cannot be rendered. `str(err)` is the sentence (never a repr)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class TemplateSyntaxError(TemplateError, ValueError):
    """A lone `{` or `}`, or braces around something that is not a placeholder name."""

    def __init__(self, message: str, *, position: int) -> None:
        self.position = position
        super().__init__(message)


class UnknownPlaceholder(TemplateError, KeyError):
    """A `{name}` with no value (absent from the values, or None)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown placeholder {{{name}}}")


def _scan(template: str) -> list[tuple[str, str]]:
    """The template as ("text", s) and ("name", n) pieces, or TemplateSyntaxError."""
    pieces: list[tuple[str, str]] = []
    last = 0
    for m in _TOKEN.finditer(template):
        if m.start() > last:
            pieces.append(("text", template[last : m.start()]))
        token = m.group(0)
        if m.group(1) is not None:
            pieces.append(("name", m.group(1)))
        elif token in ("{{", "}}"):
            pieces.append(("text", token[0]))
        else:
            end = template.find("}", m.start()) if token == "{" else -1
            inside = template[m.start() + 1 : end] if end > m.start() else None
            if inside is not None and "{" not in inside:
                message = (
                    f"{{{inside}}} at character {m.start() + 1} is not a placeholder name "
                    "(names are letters, digits and _; write {{ and }} for literal braces)"
                )
            else:
                message = (
                    f"lone {token!r} at character {m.start() + 1} "
                    "(write {{ and }} for literal braces)"
                )
            raise TemplateSyntaxError(message, position=m.start())
        last = m.end()
    if last < len(template):
        pieces.append(("text", template[last:]))
    return pieces


def placeholders(template: str) -> set[str]:
    """The placeholder names a template uses. Raises TemplateSyntaxError on bad braces."""
    return {value for kind, value in _scan(template) if kind == "name"}


def render_template(template: str, values: Mapping[str, object], *, quote: bool = True) -> str:
    """Fill `{name}` placeholders from `values`.

    With `quote=True` (a shell command) each value is one shell word via `shlex.quote`, so no
    value can end the command, expand or run anything. With `quote=False` values go in as
    they are (paths, user.conf text). Raises UnknownPlaceholder (a KeyError) for a name with
    no value and TemplateSyntaxError for bad braces.
    """
    out: list[str] = []
    for kind, value in _scan(template):
        if kind == "text":
            out.append(value)
            continue
        filled = values.get(value)
        if filled is None:
            raise UnknownPlaceholder(value)
        text = str(filled)
        out.append(shlex.quote(text) if quote else text)
    return "".join(out)


# --- a run's values -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedRun:
    """A run's templates, filled. `cwd` is None when the benchmark names none (the run dir)."""

    command: str
    log_dir: str
    cwd: str | None
    user_conf: str | None
    values: Mapping[str, str]


def run_values(
    node: NodeSpec, benchmark: Benchmark, run: RunSpec, *, output_dir: str, user_conf_path: str
) -> dict[str, str]:
    """The placeholder values of one run, except `log_dir` (which is itself a template).

    `output_dir` is the node-side run dir, `user_conf_path` the node-side path of the user.conf
    mlconsole writes there. Builtins win over a node's `vars` (the config refuses clashes).
    """
    values: dict[str, str] = dict(node.vars)
    values.update(
        samples=str(run.samples),
        scenario=str(run.scenario),
        mode=str(run.mode),
        output_dir=output_dir,
        user_conf=user_conf_path,
        shard_start=str(run.shard_start),
        shard_count=str(run.samples),  # a shard's size is its run's samples
        node=node.name,
        run_id=run.run_id,
        python=node.python,
        model=benchmark.model,
        dataset_size=str(benchmark.dataset_size),
    )
    if benchmark.shard_dataset is not None:
        source = render_template(benchmark.shard_dataset, values, quote=False)
        values["dataset_slice"] = (
            slice_path(output_dir, source) if run.group_id is not None else source
        )
    return values


def slice_path(output_dir: str, source: str) -> str:
    """The node-side path of a shard's slice of `source` (same extension)."""
    name = source.rsplit("/", 1)[-1]
    ext = name[name.rfind(".") :] if "." in name else ".json"
    return f"{output_dir}/{SLICE_DIR}/dataset_slice{ext}"


def render_run(
    node: NodeSpec, benchmark: Benchmark, run: RunSpec, *, output_dir: str, user_conf_path: str
) -> RenderedRun:
    """Every template of `benchmark` filled for `run` on `node`.

    log_dir is rendered first (it cannot use `{log_dir}`), then offered to the others. The
    command is shell-quoted, with the benchmark's `trace_flag` added when `trace` is on;
    log_dir, cwd and the user.conf text are raw.
    """
    values = run_values(node, benchmark, run, output_dir=output_dir, user_conf_path=user_conf_path)
    log_dir = render_template(benchmark.log_dir, values, quote=False)
    values["log_dir"] = log_dir
    command = render_template(benchmark.command, values, quote=True)
    if benchmark.trace and benchmark.trace_flag and benchmark.trace_flag not in command.split():
        # `trace = true` turns on LoadGen's trace through the harness's own flag.
        command = f"{command} {shlex.quote(benchmark.trace_flag)}"
    user_conf = (
        render_template(benchmark.user_conf, values, quote=False)
        if benchmark.user_conf is not None
        else None
    )
    if run.target_qps is not None or run.user_conf_extra:
        # A QPS search's run: its target_qps (and the short runs' lines) after the
        # benchmark's own, so they win (LoadGen applies a user.conf's lines in order).
        lines = [user_conf.rstrip("\n")] if user_conf else []
        if run.user_conf_extra:
            lines.append(run.user_conf_extra.rstrip("\n"))
        if run.target_qps is not None:
            lines.append(f"{benchmark.model}.{run.scenario}.target_qps = {run.target_qps:g}")
        user_conf = "\n".join(lines) + "\n"
    return RenderedRun(
        command=command,
        log_dir=log_dir,
        cwd=render_template(benchmark.cwd, values, quote=False) if benchmark.cwd else None,
        user_conf=user_conf,
        values=values,
    )


def render_service(node: NodeSpec, service: ServiceSpec, service_dir: str) -> str:
    """A service's command for `node`: {port}, {model}, {python}, {node}, {service_dir} and
    the node's vars, each shell-quoted."""
    values: dict[str, str] = dict(node.vars)
    values.update(
        port=str(service.port),
        model=service.model or "",
        python=node.python,
        node=node.name,
        service_dir=service_dir,
        port_file=f"{service_dir}/port",
    )
    return render_template(service.command or "", values, quote=True)
