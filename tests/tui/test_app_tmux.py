"""The real `mlconsole` binary in a real terminal (tmux), read the way a person reads it:
open a config, start the plan, watch the runs finish, open help, quit; and a broken config
shown as a sentence, with exit code 2."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.config_writer import write_config
from tests.support.plans import SWEEP_AND_GROUP, plan_table

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

BINARY = Path(sys.executable).parent / "mlconsole"
PLAN = plan_table("sweep", name="sweep", nodes=["slow", "fast"], benchmark="demo", samples=[120])


def console_command(config: Path) -> str:
    if BINARY.exists():
        argv = [str(BINARY), str(config)]
    else:
        argv = [sys.executable, "-m", "console.cli", str(config)]
    # The shell stays after the console exits so the exit code can be read off the screen.
    return f"{shlex.join(argv)}; echo EXIT=$?; sleep 60"


class Terminal:
    """A tmux session; `screen()` is what a person would see in it now."""

    def __init__(self, name: str) -> None:
        self.name = name

    def screen(self) -> str:
        out = subprocess.run(
            ["tmux", "-L", self.name, "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
        )
        return out.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "-L", self.name, "send-keys", "-t", self.name, *keys], check=True)

    def wait_gone(self, text: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while text in self.screen():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} stayed on the screen")
            time.sleep(0.1)

    def wait_for(self, *texts: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if all(t in screen for t in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {texts!r}; the screen:\n{screen}")
            time.sleep(0.2)

    def wait_seen(self, *texts: str, timeout: float = 40.0) -> None:
        """Wait until each text has been on the screen at some moment (not all at once):
        a toast that expires (10 s) must not be missed while another line is awaited."""
        deadline = time.monotonic() + timeout
        unseen = set(texts)
        while unseen:
            screen = self.screen()
            unseen = {t for t in unseen if t not in screen}
            if unseen and time.monotonic() > deadline:
                raise AssertionError(f"never saw {sorted(unseen)!r}; the screen:\n{screen}")
            time.sleep(0.2)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[callable]:
    sessions: list[str] = []

    def open_terminal(command: str) -> Terminal:
        name = f"mlconsole-test-{uuid.uuid4().hex[:8]}"
        env = {**os.environ, "TERM": "xterm-256color"}
        env.pop("NO_COLOR", None)
        # The terminal says its own size; inherited COLUMNS/LINES (pytest-xdist workers have
        # them) would override it.
        env.pop("COLUMNS", None)
        env.pop("LINES", None)
        subprocess.run(
            [
                "tmux",
                # A server of its own per terminal: sessions sharing one server (tests run
                # side by side) can be held to the smallest one's size.
                "-L",
                name,
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "120",
                "-y",
                "40",
                "-c",
                str(tmp_path),
                command,
            ],
            check=True,
            env=env,
        )
        sessions.append(name)
        return Terminal(name)

    yield open_terminal
    for name in sessions:
        subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True)


def test_what_a_person_sees(tmp_path: Path, terminal: callable) -> None:
    cfg = write_config(tmp_path, speeds={"slow": 150, "fast": 300}, plan=PLAN)
    # Named relative to the terminal's cwd (tmp_path), as a person types it; a full pytest
    # tmp path can be longer than the notice bar.
    cfg = Path(cfg.name)
    term = terminal(console_command(cfg))
    # The console opens on the config, says speeds are simulated, lists the planned runs,
    # and the start-up preflight finds both local nodes ready.
    term.wait_for("Runs", "s1-slow-120", "planned", "SIMULATED", str(cfg), "s Start", "q Quit")
    term.wait_for("slow  ready", "fast  ready")

    term.keys("s")
    # The plan's end rebuilds the report; a toast says so (and where) for 10 s.
    term.wait_seen("plan done: 2 succeeded", "report exported", timeout=60)
    # Toasts (the plan's end, the exported report with its path) may cover the row's right
    # side for a few seconds; they expire, the row stays.
    screen = term.wait_for("s1-slow-120", "VALID", timeout=15)
    rows = [line for line in screen.splitlines() if "s1-slow-120" in line and "VALID" in line]
    assert rows and "succeeded" in rows[0] and "120/120" in rows[0], screen
    # The log pane follows the selected run (the first row) to LoadGen's own summary.
    # Toasts may cover part of it; what shows must be this run's.
    assert "─ Log — s1-s" in screen, screen
    term.wait_for("No warnings encountered")

    term.keys("?")
    term.wait_for("mlconsole — keys", "Cancel the selected run")
    term.keys("Escape")
    term.wait_gone("mlconsole — keys")  # a key right after Escape would read as alt+key
    term.keys("q")
    term.wait_for("EXIT=0")


def test_a_broken_config_is_a_sentence_and_exit_code_2(tmp_path: Path, terminal: callable) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text('[nodes.a]\ntransport = "carrier-pigeon"\n')
    term = terminal(console_command(bad))
    screen = term.wait_for("The config could not be loaded", "carrier-pigeon")
    assert "Traceback" not in screen
    term.keys("q")
    term.wait_for("EXIT=2")


def test_o_hands_the_terminal_to_the_pager_and_the_console_comes_back(
    tmp_path: Path, terminal: callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pager of our own that says it has the terminal and records what it was asked to show.
    seen = tmp_path / "pager-argv.txt"
    pager = tmp_path / "pager.sh"
    pager.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > {seen}\necho "THE PAGER HAS THE TERMINAL"\nsleep 2\n'
    )
    pager.chmod(0o755)
    monkeypatch.setenv("PAGER", f"{pager} --from-env")
    cfg = Path(write_config(tmp_path, speeds={"slow": 300, "fast": 300}, plan=PLAN).name)
    term = terminal(console_command(cfg))
    term.wait_for("s1-slow-120", "s Start")
    term.keys("s")
    term.wait_for("plan done: 2 succeeded", timeout=40)
    term.keys("o")
    term.wait_for("THE PAGER HAS THE TERMINAL")  # the console's screen is gone meanwhile
    term.wait_gone("THE PAGER HAS THE TERMINAL", timeout=15)
    term.wait_for("Runs", "s1-slow-120", "s Start")  # and back, still running
    argv = seen.read_text().splitlines()
    assert argv[0] == "--from-env", argv
    assert argv[1].endswith("stdout.log") and Path(argv[1]).is_file(), argv
    assert "running LoadGen" in Path(argv[1]).read_text()  # the run's own stdout
    term.keys("q")
    term.wait_for("EXIT=0")


def test_ctrl_g_reaches_the_console_through_a_real_terminal_and_g_starts_nothing(
    tmp_path: Path, terminal: callable
) -> None:
    """Starting a group's stage moved from g to ctrl+g (issue 13): the key must arrive from a
    real terminal (tmux sends ^G, a byte some terminals ring the bell with), and g is only the
    table's top row. Also: shift+o sorts by node, said in the table's title."""
    cfg = Path(write_config(tmp_path, plan=SWEEP_AND_GROUP).name)
    term = terminal(console_command(cfg))
    term.wait_for("group pair", "s Start")
    term.keys("G", "g", "g")  # the last row (the group), then vim's gg: the top row
    time.sleep(0.5)
    assert "Start stage pair?" not in term.screen()
    term.keys("G", "C-g")
    term.wait_for("Start stage pair?", "Back")
    term.keys("Escape")
    term.wait_gone("Start stage pair?")
    term.keys("O")
    term.wait_for("sorted by node ↑")
    term.keys("q")
    term.wait_for("EXIT=0")
