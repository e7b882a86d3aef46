"""Reading accuracy scores as the reference scripts print them (real published accuracy.txt
files under tests/data/published, see SOURCES.md) and checking them against the targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.checks.accuracy import AccuracyRecord, check_scores, parse_scores, score_record

PUBLISHED = Path(__file__).parents[1] / "data" / "published"
CISCO = PUBLISHED / "v5.1/closed/Cisco/results/C885_H200x8_TRT/llama3.1-8b/Server/accuracy"
DELL = PUBLISHED / "v4.1/closed/Dell/results/XE8640_H100_SXM_80GBx4_TRT/3d-unet-99/Offline/accuracy"


def test_the_llama3_1_8b_dict_with_quoted_values_and_its_hash_line() -> None:
    scores = parse_scores((CISCO / "accuracy.txt").read_text())
    assert scores == {"rouge1": 38.7159, "rouge2": 15.8601, "rougeL": 24.4706,
                      "rougeLsum": 35.7205, "gen_len": 8208583.0, "gen_num": 13368.0}  # fmt: skip


def test_the_published_llama3_1_8b_scores_meet_the_99_targets_and_not_all_99_9() -> None:
    scores = parse_scores((CISCO / "accuracy.txt").read_text())
    checks = check_scores(scores, "llama3_1-8b", "99")
    assert checks is not None and all(c.met for c in checks)
    assert [c.metric for c in checks] == ["rouge1", "rouge2", "rougeL", "rougeLsum", "gen_len"]
    strict = {c.metric: c for c in check_scores(scores, "llama3_1-8b", "99.9") or ()}
    # 38.7159 < 38.7792 * 0.999 = 38.7404
    assert not strict["rouge1"].met
    assert strict["rouge1"].sentence == "rouge1 38.7159 misses >= 38.7404 (reference 38.7792)"
    assert strict["gen_len"].met  # within 90-110% of 8,167,644 either way


def test_3d_unet_prints_name_equals_value_pairs() -> None:
    scores = parse_scores((DELL / "accuracy.txt").read_text())
    assert scores["mean"] == 0.86112 and scores["kidney"] == 0.9346
    (check,) = check_scores(scores, "3d-unet", "99") or ()
    assert check.met and check.low == pytest.approx(0.853083)
    (strict,) = check_scores(scores, "3d-unet", "99.9") or ()
    assert strict.met and strict.low == pytest.approx(0.860838)  # 0.86170 * 0.999


def test_numpy_2_reprs_and_percent_lines() -> None:
    text = "{'rouge1': np.float64(44.4406), 'tokens_per_sample': np.float64(301.3)}\n"
    text += "accuracy=76.456%, good=38228, total=50000\n"
    assert parse_scores(text) == {
        "rouge1": 44.4406,
        "tokens_per_sample": 301.3,
        "accuracy": 76.456,
        "good": 38228.0,
        "total": 50000.0,
    }


def test_a_range_target_misses_on_either_side_and_a_missing_score_misses() -> None:
    checks = {c.metric: c for c in check_scores({"rouge1": 44.5, "tokens_per_sample": 330.0},
                                                "llama2-70b") or ()}  # fmt: skip
    assert checks["rouge1"].met
    assert not checks["tokens_per_sample"].met  # > 294.45 * 1.1
    assert not checks["rouge2"].met and checks["rouge2"].value is None
    assert checks["rouge2"].sentence.startswith("rouge2 missing from accuracy.txt")


def test_a_model_without_targets_is_said_so_and_variants_share_their_base() -> None:
    assert check_scores({"x": 1.0}, "my-model") is None
    assert check_scores({}, "llama3_1-8b-interactive") is not None
    rec = score_record("{'x': 1}", command="c", exit_code=0, model="my-model", level="99")
    assert rec.verdict == "no_targets" and "no accuracy targets known" in rec.line()


def test_the_record_round_trips_through_json() -> None:
    rec = score_record((CISCO / "accuracy.txt").read_text(), command="python evaluation.py",
                       exit_code=0, model="llama3_1-8b", level="99")  # fmt: skip
    again = AccuracyRecord.from_json(rec.to_json())
    assert again == rec and again.verdict == "met"
    assert AccuracyRecord.from_json("nonsense") is None
