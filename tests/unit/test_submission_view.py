"""`mlconsole inspect` shows the checker's view: its headline per scenario and benchmark beside
LoadGen's verdict, and the eligibility, on every published run dir (tests/data/published)."""

from __future__ import annotations

import json

import pytest

from console.cli import main
from engine.submission.rules import ROUNDS
from tests.support.paths import DATA

PUBLISHED = DATA / "published"
RUN_DIRS = sorted(p.parent for p in PUBLISHED.rglob("mlperf_log_detail.txt"))


def _inspect(capsys, *args: str) -> dict:
    assert main(["inspect", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("run_dir", RUN_DIRS, ids=lambda p: "/".join(p.parts[-5:]))
def test_inspect_json_gives_the_checkers_headline_beside_loadgens_verdict(capsys, run_dir):
    d = _inspect(capsys, "--round", "v5.1", str(run_dir))
    view = d["checker"]
    assert view["loadgen_validity"] == d["validity"]
    # The benchmark comes from the submission layout's directory names.
    assert view["benchmark"] in ROUNDS["v5.1"].benchmarks or view["benchmark"] == "resnet"
    h = view["headline"]
    if d["mode"] == "accuracy":
        assert h["value"] is None and h["missing"]
    else:
        raw = d["results"][h["key"]]
        expected = raw / 1e6 if h["unit"] == "Latency (ms)" else raw
        assert h["value"] == pytest.approx(expected)
    seeds_ok = "/v5.1/" in str(run_dir)
    assert ("rng_seeds" in view["eligibility"]["checked"]) == seeds_ok


def test_inspect_text_lists_the_broken_rules(capsys):
    run = next(p for p in RUN_DIRS if "Cisco" in str(p) and "Server/performance" in str(p))
    assert main(["inspect", "--round", "v6.0", str(run)]) == 0
    out = capsys.readouterr().out
    assert "checker (v6.0, llama3.1-8b): headline 41291 Tokens/s" in out
    assert "development run: 1 rule(s) of v6.0 broken" in out
    assert "qsl_rng_seed 1780908523862526354 != 2085463073848966840;" in out


def test_inspect_names_a_benchmark_the_path_does_not(capsys):
    run = next(p for p in RUN_DIRS if "Cisco" in str(p) and "Server/performance" in str(p))
    d = _inspect(capsys, "--round", "v5.1", "--benchmark", "llama3_1-8b-interactive", str(run))
    assert d["checker"]["eligibility"]["scenario"] == "Interactive"


def test_an_unknown_round_is_bad_input(capsys):
    assert main(["inspect", "--round", "v4.0", str(RUN_DIRS[0])]) == 2
    assert "unknown round 'v4.0'; known: v5.1, v6.0" in capsys.readouterr().err


def test_a_detail_log_alone_is_judged_and_a_summary_alone_is_not(capsys):
    run = next(p for p in RUN_DIRS if "Lenovo" in str(p))
    d = _inspect(capsys, "--round", "v5.1", str(run / "mlperf_log_detail.txt"))
    assert d["checker"]["benchmark"] == "resnet"
    assert d["checker"]["eligibility"]["eligible"] is True
    d = _inspect(capsys, "--round", "v5.1", str(run / "mlperf_log_summary.txt"))
    assert d["checker"] is None
