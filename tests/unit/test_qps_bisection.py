"""The QPS search's bisection and record, on verdicts given by hand (the runs themselves are
tested with the real LoadGen in tests/integration/test_qps_search.py)."""

from __future__ import annotations

from engine.checks.qps_search import Bisection, QpsSearchResult, QpsStep


def _search(capacity: float, low: float = 100, high: float = 800, tol: float = 0.05) -> list[float]:
    b = Bisection(low, high, tol)
    tried = []
    while (q := b.next_qps()) is not None:
        tried.append(q)
        b.record(q, q <= capacity)
    return tried


def test_bisection_brackets_the_edge_within_the_tolerance() -> None:
    tried = _search(390)
    assert tried[:3] == [100, 800, 450]
    b = Bisection(100, 800, 0.05)
    for q in tried:
        b.record(q, q <= 390)
    assert b.best is not None and b.best <= 390 < b.high
    assert (b.high - b.low) / b.low <= 0.05
    assert len(tried) == 2 + 6  # log2(700 / (0.05 * 390)) is about 5.2


def test_the_ends_decide_alone() -> None:
    assert _search(50) == [100]  # even low_qps is INVALID
    assert _search(1000) == [100, 800]  # high_qps is VALID: nothing above was asked for


def test_the_result_says_found_margin_and_why_not() -> None:
    steps = (QpsStep(1, "short", 100, "a", validity="VALID"),
             QpsStep(2, "short", 200, "b", validity="INVALID", reasons=("p99 too high",)),
             QpsStep(3, "confirm", 95, "c", validity="VALID"))  # fmt: skip
    r = QpsSearchResult("q", "n", "bench", 100, 200, 0.05, 0.05, steps, True)
    assert (r.found_qps, r.lowest_invalid, r.highest_valid) == (95, 200, 100)
    assert r.margin is not None and abs(r.margin - 105 / 95) < 1e-9
    assert QpsSearchResult.from_json(r.to_json()) == r
    assert r.line().startswith("qps search q on n: 95 QPS confirmed VALID by a full-length run")
    none = QpsSearchResult("q", "n", "bench", 100, 200, 0.05, 0.0, steps[1:2], True, "low INVALID")
    assert none.found_qps is None and none.line().endswith("no QPS confirmed VALID (low INVALID)")
    assert steps[1].line() == "short run 2 at 200 QPS: INVALID (p99 too high)"
