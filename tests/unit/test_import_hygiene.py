"""The engine is a library the TUI and the batch printer share: it must never pull in Textual,
and `mlconsole --help` must not pay for polars, matplotlib or asyncssh."""

from __future__ import annotations

import subprocess
import sys


def modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_no_engine_module_imports_textual() -> None:
    code = (
        "import pkgutil, importlib, engine\n"
        "for m in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    if not m.name.startswith('engine.harness.__main__'):\n"
        "        importlib.import_module(m.name)\n"
    )
    loaded = modules_after(code)
    assert "engine.run.orchestrator" in loaded and "engine.transport.ssh" in loaded
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


def test_the_cli_entry_point_imports_no_heavy_library() -> None:
    loaded = modules_after("import console.cli")
    assert not loaded & {"polars", "matplotlib", "asyncssh", "textual", "engine.run.orchestrator"}


def test_layer_contracts_hold() -> None:
    """The import-linter contracts in pyproject.toml: engine never imports console or Textual,
    transports never import run, analysis never imports run or transport, the harness stays
    small. A broken contract prints which import chain broke it."""
    from pathlib import Path

    lint = Path(sys.executable).with_name("lint-imports")
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run([str(lint)], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout
