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
    assert "engine.orchestrator" in loaded and "engine.transport.ssh" in loaded
    assert not {m for m in loaded if m == "textual" or m.startswith("textual.")}


def test_the_cli_entry_point_imports_no_heavy_library() -> None:
    loaded = modules_after("import console.cli")
    assert not loaded & {"polars", "matplotlib", "asyncssh", "textual", "engine.orchestrator"}
