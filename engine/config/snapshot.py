"""The resolved config as TOML, secrets removed: `config.snapshot.toml` in every run dir.

"Resolved" means every default written out and the plan as the stages were understood, so a
run dir says exactly what ran; the snapshot is itself a valid config (load_config reads it
back to the same nodes, benchmarks and plan, with "<redacted>" where a secret was).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from engine.config.keys import OPTIONAL_SAMPLING_KEYS, SSH_ONLY_KEYS
from engine.model import (
    Benchmark,
    Config,
    ContainerSpec,
    NodeSpec,
    ServiceSpec,
    Settings,
    SlurmSpec,
    Stage,
)
from engine.secrets import REDACTED, is_secret_name, redact_inline

_SECRET_KEYS = frozenset({"password", "passphrase", "token", "secret"})
_TEMPLATE_TEXT = ("command", "log_dir", "cwd", "user_conf", "accuracy_command")


def snapshot_toml(config: Config) -> str:
    """The resolved config as TOML text, with a header saying secrets were redacted.

    Redacted: values of env and vars entries whose names are secrets (engine.secrets: the
    default patterns and settings.secret_names), any key named password, passphrase, token
    or secret, and secrets written inside command templates (NAME=value, --flag value).
    """
    data = _redact(resolved_dict(config), "", config.settings.secret_names)
    header = (
        "# mlconsole config snapshot: the resolved config this run used.\n"
        f"# Source: {config.source.replace(chr(10), ' ')}\n"
        f'# Secrets redacted: values that look like secrets are replaced by "{REDACTED}".\n\n'
    )
    return header + toml_text(data)


_SCALAR = r'(?:-?[0-9][0-9_.eE+-]*|"(?:[^"\\\n]|\\.)*")'
_ARRAY = re.compile(rf"\[\n((?: {{4}}{_SCALAR},\n)+)\]")


def toml_text(data: Mapping[str, Any]) -> str:
    """TOML as mlconsole writes it: tomli-w, with short arrays of scalars on one line
    (`nodes = ["a", "b"]` rather than one item per line)."""
    import tomli_w

    text = tomli_w.dumps(data, multiline_strings=True)

    def one_line(m: re.Match[str]) -> str:
        items = [line.strip().removesuffix(",") for line in m.group(1).splitlines()]
        joined = "[" + ", ".join(items) + "]"
        return joined if len(joined) <= 80 else m.group(0)

    return _ARRAY.sub(one_line, text)


def resolved_dict(config: Config) -> dict[str, Any]:
    """The config as plain TOML-able data, every default filled in (no secrets removed)."""
    return {
        "settings": _plain(config.settings, Settings),
        "nodes": {name: _node_table(node) for name, node in config.nodes.items()},
        "services": {
            name: _with_container(_plain(sv, ServiceSpec, skip=("name", "container")), sv)
            for name, sv in config.services.items()
        },
        "benchmarks": {name: _benchmark_table(b) for name, b in config.benchmarks.items()},
        "plan": [_stage_table(stage) for stage in config.plan.stages],
    }


def _benchmark_table(bench: Benchmark) -> dict[str, Any]:
    table = _with_container(_plain(bench, Benchmark, skip=("name", "request_extra", "container")),
                            bench)  # fmt: skip
    if not bench.command:
        del table["command"]  # a benchmark only fleet stages use has none
    for key in OPTIONAL_SAMPLING_KEYS:  # None means "left out of requests": written false
        if getattr(bench, key) is None:
            table[key] = False
    if bench.request_extra:
        table["request_extra"] = dict(bench.request_extra)
    return table


def _with_container(table: dict[str, Any], owner: Benchmark | ServiceSpec) -> dict[str, Any]:
    if owner.container is not None:
        table["container"] = _plain(owner.container, ContainerSpec)
    return table


def _node_table(node: NodeSpec) -> dict[str, Any]:
    """A local node's SSH keys are left out while they hold their defaults: they mean nothing
    there, and writing them out would make a re-read snapshot warn about them."""
    table = _plain(node, NodeSpec, skip=("name", "slurm"))
    if node.slurm is not None:
        table["slurm"] = _plain(node.slurm, SlurmSpec)
    if node.transport == "local" or (node.transport == "slurm" and not node.host):
        defaults = _plain(NodeSpec(name=node.name), NodeSpec, skip=("name",))
        for key in SSH_ONLY_KEYS:
            if key in table and table[key] == defaults.get(key):
                del table[key]
    return table


def _plain(obj: Any, cls: type, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in skip:
            continue
        value = getattr(obj, f.name)
        if value is None:  # TOML has no null: an absent key means the default (None)
            continue
        if isinstance(value, Mapping):
            if not value:
                continue
            value = {str(k): str(v) for k, v in value.items()}
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, str):
            value = str(value)  # StrEnum -> plain str
        out[f.name] = value
    return out


def _stage_table(stage: Stage) -> dict[str, Any]:
    if stage.fleet is not None:
        f = stage.fleet
        table: dict[str, Any] = {
            "kind": "concurrency_sweep" if f.sweep else "fleet",
            "name": stage.name,
            "nodes": list(f.nodes),
            "service": f.service,
            "benchmark": f.benchmark,
            "scenario": str(f.scenario),
            "mode": str(f.mode),
            "samples": f.samples,
            "max_retries": f.max_retries,
        }
        if f.target_qps is not None:
            table["target_qps"] = f.target_qps
        limits = [c for c in f.concurrency if c is not None]
        if f.sweep:
            table["concurrency"] = limits
        elif limits:
            table["concurrency"] = limits[0]
        return table
    if stage.group is not None:
        g = stage.group
        return {
            "kind": "group",
            "name": stage.name,
            "nodes": list(g.nodes),
            "benchmark": g.benchmark,
            "scenario": str(g.scenario),
            "mode": str(g.mode),
            "total_samples": g.total_samples,
            "split": str(g.split),
            "calibrate": g.calibrate,
        }
    nodes = list(dict.fromkeys(r.node for r in stage.runs))
    table = {
        "kind": stage.kind,
        "name": stage.name,
        "nodes": nodes,
    }
    if stage.runs:
        first = stage.runs[0]
        table.update(benchmark=first.benchmark, scenario=str(first.scenario), mode=str(first.mode))
        counts = [r.samples for r in stage.runs if r.node == nodes[0]]
        table["samples"] = counts if stage.kind == "sweep" else counts[0]
    return table


def _redact(value: Any, parent: str, extra: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _redact_entry(k, v, parent, extra) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, parent, extra) for v in value]
    return value


def _redact_entry(name: str, value: Any, parent: str, extra: tuple[str, ...]) -> Any:
    if name.lower() in _SECRET_KEYS and not isinstance(value, dict | list):
        return REDACTED
    if parent in ("env", "vars") and is_secret_name(name, extra):
        return REDACTED
    if name in _TEMPLATE_TEXT and isinstance(value, str):
        return redact_inline(value, extra)
    return _redact(value, name, extra)
