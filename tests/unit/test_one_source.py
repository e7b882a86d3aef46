"""Facts that several places need have one home each (issue 9, defect 10): the version, the
demo's progress pattern and its dataset size. These tests tie the copies that must stay
literal (TOML files people read) to that home, so a change in one place cannot leave another
behind."""

from __future__ import annotations

import io
import re
import tomllib
from importlib import metadata

import engine
from engine.config.load import load_config
from engine.config.starter import starter_config_text
from engine.harness.demo_facts import DEMO_DATASET_SIZE, PROGRESS_PATTERN, progress_line
from engine.harness.sut import ProgressReporter
from engine.loadgen.models import MODELS
from tests.support.paths import REPO_ROOT


def test_the_version_has_one_home() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert metadata.version("mlconsole") == engine.__version__


def test_the_demo_progress_lines_are_read_with_the_one_pattern() -> None:
    out = io.StringIO()
    reporter = ProgressReporter(total=40, every=20, detail_log="/nonexistent", out=out)
    reporter.add(20)
    assert out.getvalue() == progress_line(20, 40) + "\n"
    m = re.search(PROGRESS_PATTERN, out.getvalue())
    assert m and (m["completed"], m["total"]) == ("20", "40")


def test_the_demo_configs_use_the_one_pattern_and_size() -> None:
    demo = load_config(REPO_ROOT / "configs" / "demo.toml")
    for name in ("demo-llm", "demo-llm-fleet"):
        assert demo.benchmarks[name].dataset_size == DEMO_DATASET_SIZE
    assert demo.benchmarks["demo-llm"].progress_pattern == PROGRESS_PATTERN
    assert DEMO_DATASET_SIZE == MODELS["llama3_1-8b"].dataset_size == MODELS["gptj"].dataset_size
    starter = tomllib.loads(starter_config_text())["benchmarks"]["demo"]
    assert (starter["dataset_size"], starter["progress_pattern"]) == (
        DEMO_DATASET_SIZE,
        PROGRESS_PATTERN,
    )
