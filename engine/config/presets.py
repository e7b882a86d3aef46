"""Presets: configs/benchmarks/<family>.toml, one file per harness family, each a complete
config (a local node, the family's benchmarks, a plan with a stage for each) whose comments
name the sources and the quirks. Every benchmark of a family is a preset of that name.

`mlconsole init --preset NAME` writes the family file cut down to that benchmark: its header
comment, the settings and nodes, the benchmark's table and the plan stages that run it, each
with the comments written above it. The cut is made on the text (TOML tables at column 0),
so the comments survive; the tests load every preset's config to prove each cut is valid.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ConfigError, UsageError

_HEADER = re.compile(r"^\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


@dataclass(frozen=True)
class Preset:
    name: str  # the benchmark name
    family: str  # the family file's stem
    path: Path
    scenario: str
    mode: str


def presets_dir() -> Path:
    import configs  # the package that ships the presets

    return Path(configs.__file__).parent / "benchmarks"


def presets() -> dict[str, Preset]:
    """Every preset, by name, in family-file order."""
    out: dict[str, Preset] = {}
    for path in sorted(presets_dir().glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for name, table in (data.get("benchmarks") or {}).items():
            out[name] = Preset(
                name,
                path.stem,
                path,
                str(table.get("scenario", "Offline")),
                str(table.get("mode", "performance")),
            )
    return out


def _blocks(text: str) -> tuple[str, list[tuple[str, str]]]:
    """(header comment, [(table name, text)]): each table with the comment lines written
    directly above it (no blank line between)."""
    lines = text.splitlines(keepends=True)
    starts: list[tuple[int, int, str]] = []  # (block start, header line, table name)
    for i, line in enumerate(lines):
        m = _HEADER.match(line)
        if not m:
            continue
        start = i
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            start -= 1
        name = m.group(1)
        starts.append((start, i, "[[plan]]" if line.startswith("[[") else name))
    if not starts:
        return text, []
    head = "".join(lines[: starts[0][0]])
    blocks = []
    for n, (start, _, name) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        blocks.append((name, "".join(lines[start:end])))
    return head, blocks


def _table_name(name: str) -> str:
    """`benchmarks."llama3.1-8b-offline"` -> the benchmark name, else the name as written."""
    m = re.fullmatch(r'benchmarks\.(?:"([^"]+)"|([A-Za-z0-9_.-]+))', name)
    return (m.group(1) or m.group(2)) if m else name


def preset_config_text(name: str) -> str:
    """The config `init --preset NAME` writes. Raises UsageError for an unknown name."""
    known = presets()
    preset = known.get(name)
    if preset is None:
        raise UsageError(
            f"no preset named {name!r}; presets: {', '.join(known) or '(none found)'} "
            "(mlconsole init --list-presets)"
        )
    head, blocks = _blocks(preset.path.read_text(encoding="utf-8"))
    kept: list[str] = []
    for table, body in blocks:
        if table.startswith("benchmarks."):
            if _table_name(table) == name:
                kept.append(body)
        elif table == "[[plan]]":
            stage = tomllib.loads(body.replace("[[plan]]", "", 1))
            if stage.get("benchmark") == name:
                kept.append(body)
        else:
            kept.append(body)
    source = f"configs/benchmarks/{preset.path.name}"
    return (
        f"# Written by `mlconsole init --preset {name}` from {source}.\n#\n"
        + head
        + "".join(kept).rstrip("\n")
        + "\n"
    )


def presets_listing() -> str:
    """One line per preset: name, scenario, mode, family file."""
    rows = [
        (p.name, p.scenario, p.mode, f"configs/benchmarks/{p.path.name}")
        for p in presets().values()
    ]
    if not rows:
        raise ConfigError("no presets found", file=str(presets_dir()))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
