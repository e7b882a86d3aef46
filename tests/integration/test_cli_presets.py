"""`mlconsole init --preset NAME` writes a config that `mlconsole check` accepts, and check
says what LoadGen will really run for each planned run (asked of the node's own LoadGen)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import mlconsole


def test_init_preset_then_check_says_what_loadgen_will_run(tmp_path: Path) -> None:
    made = mlconsole("init", "--preset", "llama3.1-8b-offline", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "mlconsole.toml").is_file() and "llama3.1-8b-offline" in made.stdout
    res = mlconsole("check", "mlconsole.toml", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "What LoadGen will run" in res.stdout
    assert "s1-local-100" in res.stdout
    assert "LoadGen will issue 100 samples, as requested (exact_samples" in res.stdout
    assert "exact_samples adds to the user.conf: llama3_1-8b.Offline.min_duration = 0" in res.stdout
    # Without exact_samples, check says the 13,400 and why, with the lines that fix it.
    cfg = tmp_path / "mlconsole.toml"
    cfg.write_text(cfg.read_text().replace("exact_samples = true", "exact_samples = false"))
    res = mlconsole("check", "mlconsole.toml", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    (node,) = json.loads(res.stdout)
    first = node["loadgen_settings"][0]
    assert (first["requested"], first["issued"], first["holds"]) == (100, 13400, False)
    assert "min_query_count 13368 from mlperf.conf" in first["sentence"]


def test_init_lists_the_presets_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    listed = mlconsole("init", "--list-presets", cwd=tmp_path)
    assert listed.returncode == 0 and "nvidia-llama2-70b-offline" in listed.stdout
    bad = mlconsole("init", "--preset", "nope", cwd=tmp_path)
    assert bad.returncode == 2 and "no preset named 'nope'" in bad.stderr
    assert not (tmp_path / "mlconsole.toml").exists()
