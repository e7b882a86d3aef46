"""TOML config -> validated frozen dataclasses (`engine.model.Config`).

`load_config` reads one file and either returns a Config or raises ONE ConfigError: the first
problem found, in a stable order (top-level keys, settings, nodes, benchmarks, plan, then the
templates against the nodes that run them), naming the key path, the line when it can be
found, and what would have been accepted. docs/config-reference.md describes every key.

Each table is read by `engine.config.tables`, the plan by `engine.config.plan`; what is here
is the file itself (reading, TOML syntax, the top level) and the checks that span tables.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

from engine.config.container import check_container_nodes
from engine.config.keys import (
    FIELD_PLACEHOLDERS,
    TEMPLATE_FIELDS,
    TOP_KEYS,
)
from engine.config.plan import build_plan
from engine.config.reader import (
    NAME_RULE,
    Section,
    Source,
    suggestion,
    unknown_name,
    valid_name,
)
from engine.config.snapshot import snapshot_toml
from engine.config.tables import benchmark_table, node_table, service_table, settings_table
from engine.errors import ConfigError
from engine.model import Benchmark, Config, NodeSpec, Settings
from engine.run.templates import BUILTIN_PLACEHOLDERS, placeholders

__all__ = [
    "load_config",
    "parse_config",
    "snapshot_toml",
    "valid_name",
]


def load_config(path: str | Path) -> Config:
    """Read and validate the config at `path`. Raises ConfigError (one sentence) on any problem.

    An empty plan is allowed (a config used only to check nodes).
    """
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        reason = err.strerror or str(err)
        raise ConfigError(f"cannot read the config file: {reason}", file=file) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"the config file is not UTF-8 text (byte {err.start})", file=file
        ) from None
    if text.startswith("\ufeff"):
        raise ConfigError(
            "the file starts with a UTF-8 byte-order mark (BOM), which TOML does not allow",
            file=file,
            line=1,
            expected="UTF-8 without a BOM (most editors: save as 'UTF-8', not 'UTF-8 with BOM')",
        )
    if not _has_content(text):
        raise ConfigError(
            "the config file is empty (no nodes, no benchmarks, no plan)",
            file=file,
            expected="at least one [nodes.<name>] table; `mlconsole init` writes a starter",
        )
    return parse_config(text, file)


def _has_content(text: str) -> bool:
    """Anything but blank lines and comments."""
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


def parse_config(text: str, file: str = "<config>") -> Config:
    """`load_config` for text already in memory; `file` is only used in messages."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise _syntax_error(err, text, file) from None
    source = Source(file, text)
    top = Section(source, raw, ())
    top.check_keys(TOP_KEYS, "the config (top level)")

    settings_section = top.table("settings")
    settings = settings_table(settings_section) if settings_section else Settings()
    nodes = {name: node_table(sec) for name, sec in _named_tables(top, "nodes", "node")}
    services = {name: service_table(sec) for name, sec in _named_tables(top, "services", "service")}
    benchmarks = {
        name: benchmark_table(sec) for name, sec in _named_tables(top, "benchmarks", "benchmark")
    }
    plan, usage = build_plan(top, nodes, benchmarks, services)
    _check_templates(source, nodes, benchmarks, usage)
    service_nodes: dict[str, list[str]] = {}
    for stage in plan.stages:
        if stage.fleet is not None:
            service_nodes.setdefault(stage.fleet.service, []).extend(stage.fleet.nodes)
    check_container_nodes(
        source,
        nodes,
        {**{("benchmarks", n): b.container for n, b in benchmarks.items()},
         **{("services", n): s.container for n, s in services.items()}},
        {**{("benchmarks", b): n for b, n in usage.items()},
         **{("services", v): n for v, n in service_nodes.items()}},
    )  # fmt: skip
    if settings.baseline_node is not None and settings.baseline_node not in nodes:
        raise source.error(
            ("settings", "baseline_node"),
            *unknown_name("node", "nodes", settings.baseline_node, list(nodes)),
        )
    return Config(
        source=file,
        nodes=nodes,
        benchmarks=benchmarks,
        plan=plan,
        settings=settings,
        raw=raw,
        services=services,
    )


def _syntax_error(err: tomllib.TOMLDecodeError, text: str, file: str) -> ConfigError:
    message = str(err)
    line: int | None = None
    where = re.search(r"\s*\(at line (\d+), column (\d+)\)\s*$", message)
    if where:
        line = int(where.group(1))
        message = f"{message[: where.start()]} at line {line}, column {where.group(2)}"
    elif message.endswith("(at end of document)"):
        line = max(1, len(text.splitlines()))
        message = message.removesuffix("(at end of document)").strip() + " at the end of the file"
    return ConfigError(f"TOML syntax error: {message}", file=file, line=line)


def _named_tables(top: Section, key: str, what: str) -> list[tuple[str, Section]]:
    """The `[key.<name>]` tables in file order, each name checked."""
    section = top.table(key, expected=f"a table of [{key}.<name>] tables")
    if section is None:
        return []
    out = []
    for name in section.data:
        if not valid_name(name):
            raise section.error(name, f'{what} name "{name}" is not safe', NAME_RULE)
        sub = section.table(name, expected=f"a table ([{key}.{name}])")
        assert sub is not None
        out.append((name, sub))
    return out


def _check_templates(
    source: Source,
    nodes: Mapping[str, NodeSpec],
    benchmarks: Mapping[str, Benchmark],
    usage: Mapping[str, tuple[str, ...]],
) -> None:
    """Every placeholder is a built-in or a var of each node the plan runs the benchmark on
    (of at least one node when the plan does not use the benchmark)."""
    for name, bench in benchmarks.items():
        on = usage.get(name, ())
        for field in TEMPLATE_FIELDS:
            template = getattr(bench, field)
            if template is None:
                continue
            for placeholder in sorted(placeholders(template)):
                if placeholder in BUILTIN_PLACEHOLDERS:
                    continue
                if placeholder in FIELD_PLACEHOLDERS.get(field, ()):
                    continue
                if on:
                    lacking = [n for n in on if placeholder not in nodes[n].vars]
                    where = "the vars of node" + ("s " if len(lacking) > 1 else " ")
                    where += ", ".join(lacking)
                    if len(lacking) < len(on):
                        where += " (the plan runs this benchmark there)"
                else:
                    lacking = [] if any(placeholder in n.vars for n in nodes.values()) else ["*"]
                    where = "the vars of any node"
                if not lacking:
                    continue
                known = sorted(BUILTIN_PLACEHOLDERS)
                raise source.error(
                    ("benchmarks", name, field),
                    f"unknown placeholder {{{placeholder}}}: not built in and not in {where}"
                    + suggestion(placeholder, known),
                    f"a built-in ({', '.join(known)}) or a name in the node's vars",
                )
