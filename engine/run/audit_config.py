"""Where LoadGen reads an `audit.config`, and when one there is stray: one rule for the
preflight (`mlconsole check`, the console's `p`), the launch of every run, and the compliance
tests that place one on purpose.

LoadGen opens `audit.config` relative to the harness's working directory at StartTest and lets
it override the test settings. So the directory is the harness's cwd: the benchmark's `cwd`
rendered with the run's placeholder values (a relative path is under the node's home), or the
node-side run dir when `cwd` is unset. A file found there is stray unless the benchmark says
`audit_config_intended = true`.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.model import Benchmark, NodeSpec, RunSpec
from engine.run.templates import TemplateError, render_template, run_values

AUDIT_CONFIG = "audit.config"

# Placeholders that only exist once a run dir is allocated (made fresh for every run, so
# nothing stray can be in a cwd built from them before the run).
RUN_DIR_PLACEHOLDERS = ("output_dir", "user_conf", "log_dir")


def harness_cwd(
    benchmark: Benchmark, values: Mapping[str, str], *, home: str | None, run_dir: str | None
) -> str | None:
    """The harness's working directory on the node. `values`: the run's placeholder values;
    `home`: the node's home (None: leave a relative cwd relative, for a command that runs in
    the home already); `run_dir`: the node-side run dir (None before it is allocated).

    None when it cannot be known yet: a cwd that needs the run dir before there is one."""
    if benchmark.cwd is None:
        return run_dir
    try:
        cwd = render_template(benchmark.cwd, values, quote=False)
    except TemplateError:
        return None
    if cwd.startswith("/") or home is None:
        return cwd
    return f"{home.rstrip('/')}/{cwd}"


def audit_config_dir(
    node: NodeSpec,
    benchmark: Benchmark,
    run: RunSpec,
    *,
    home: str | None = None,
    run_dir: str | None = None,
) -> str | None:
    """The directory where LoadGen, running `run` of `benchmark` on `node`, would read an
    `audit.config`: the one rule. Before the run dir exists (`run_dir` None, as in preflight)
    a cwd built from it is None: it will be a fresh directory."""
    values = run_values(node, benchmark, run, output_dir=run_dir or "", user_conf_path="")
    if run_dir is None:
        for name in RUN_DIR_PLACEHOLDERS:
            values.pop(name, None)
    else:
        values["user_conf"] = f"{run_dir}/user.conf"
    return harness_cwd(benchmark, values, home=home, run_dir=run_dir)


def audit_config_sentence(directory: str, node: str, benchmark: str | None = None) -> str:
    """What to tell the user about an `audit.config` found in `directory` on `node`."""
    which = f" for benchmark {benchmark}" if benchmark else ""
    return (
        f"a stray {AUDIT_CONFIG} in {directory} on {node} would silently override LoadGen's "
        f"settings (a leftover from a compliance test?); remove it, or set "
        f"audit_config_intended = true{which}"
    )


def stray_audit_config(benchmark: Benchmark, directory: str, node: str) -> str | None:
    """The sentence for an `audit.config` found in `directory` on `node`; None when the
    benchmark means it to be there (a compliance test)."""
    if benchmark.audit_config_intended:
        return None
    return audit_config_sentence(directory, node, benchmark.name)
