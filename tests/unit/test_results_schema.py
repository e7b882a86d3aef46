"""The one typed schema of orchestrator_summary.json and group_summary.json: what it writes
reads back the same, results recorded by mlconsole 0.1.0 (tests/data/results-0.1.0, see its
SOURCES) still read and report with the same figures, and a summary it cannot read is named,
never guessed at.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from engine.analysis.frames import load_results
from engine.analysis.report.rebuild import rebuild_reports
from engine.model import RunState
from engine.results.group_schema import GroupSummary, read_group_summary
from engine.results.schema import (
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    V1_STATE_WORDS,
    RunSummary,
    SummaryUnreadable,
    read_run_summary,
    run_state,
    spec_from_json,
    spec_to_json,
)
from engine.results.store import ResultsStore
from tests.support.paths import DATA
from tests.support.results_builder import standard_results

V010 = DATA / "results-0.1.0"


@pytest.fixture
def v010(tmp_path: Path) -> Path:
    """A copy of the 0.1.0 results dir (reporting writes into run dirs)."""
    assert (V010 / "SOURCES").is_file(), "tests/data/results-0.1.0 is committed test data"
    root = tmp_path / "results"
    shutil.copytree(V010, root)
    return root


def _result_table(md: str) -> list[str]:
    """The rows of a run report's "## Result" table: every figure the report gives the run."""
    part = md.split("## Result\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in part.splitlines() if line.startswith("| ") and "---" not in line]


def test_a_results_dir_written_by_0_1_0_still_reports_the_same_figures(v010: Path) -> None:
    """Pins reading schema 1: every run of the 0.1.0 dir reports the figures 0.1.0's own
    report gave it (only the state's stored words became identifiers)."""
    old = {d.name: next(d.glob("*_comprehensive_report.md")).read_text() for d in
           sorted(v010.iterdir()) if d.is_dir() and not d.name.startswith("group_")}  # fmt: skip
    assert len(old) == 8
    paths = rebuild_reports(v010, v010.parent / "reports")
    assert (v010.parent / "reports" / "mlconsole_pipeline_report.md") in paths
    for name, before in old.items():
        now = next((v010 / name).glob("*_comprehensive_report.md")).read_text()
        expected = _result_table(before)
        for words, state in V1_STATE_WORDS.items():
            expected = [row.replace(words, state.value) for row in expected]
        # The figures are 0.1.0's; a projection under an hour now also reads as minutes.
        shown = [re.sub(r" h \(\d+ min(?: \d+ s)?\)", " h", row) for row in _result_table(now)]
        assert shown == expected, name
    res = load_results(v010)
    states = dict(zip(res.runs["run_id"], res.runs["state"], strict=True))
    assert states["s3-fast-16"] == RunState.HARNESS_ERROR_AFTER_COMPLETE.value
    assert states["s4-slow-16"] == RunState.FAILED.value
    assert sum(res.runs["ok"]) == 7  # LoadGen's results stand for the harness-exit run
    (group,) = res.groups.to_dicts()
    assert group["split"] == "weighted" and group["combined_throughput"] > 0
    assert set(res.shards["state"]) == {"succeeded"}


def test_what_is_written_reads_back_the_same(tmp_path: Path) -> None:
    """Pins the writer and the reader to one layout: to_json then from_json is the identity,
    for 0.1.0's files upgraded to the current version and for the builders' own output."""
    for path in sorted(V010.glob("*/orchestrator_summary.json")):
        old = read_run_summary(path)
        assert old.schema_version == 1 and old.mlconsole_version == "0.1.0"
        again = RunSummary.from_json(old.to_json())
        assert again.schema_version == SCHEMA_VERSION
        assert again == RunSummary(**{**old.__dict__, "schema_version": SCHEMA_VERSION})
    group = read_group_summary(next(V010.glob("group_*")))
    assert GroupSummary.from_json(group.to_json()) == GroupSummary(
        **{**group.__dict__, "schema_version": SCHEMA_VERSION}
    )
    st = standard_results(tmp_path)
    for s in st.all_runs():
        assert read_run_summary(tmp_path / str(s.run_dir)) == s
    assert read_group_summary(tmp_path / str(st.group.group_dir)) == st.group


def test_run_states_are_identifiers_and_0_1_0_words_still_read() -> None:
    """Pins the stored form of run states: identifiers now; 0.1.0's words map to the same
    states in version-1 files only."""
    for state in RunState:
        assert state.value.isidentifier() and state.value.islower()
        assert run_state(state.value) is state
    for words, state in V1_STATE_WORDS.items():
        assert run_state(words, 1) is state
        assert run_state(words, 2) is None  # a current file never holds words
    assert run_state("no such state") is None and run_state(None) is None


def test_a_summary_it_cannot_read_is_named_and_passed_over(tmp_path: Path) -> None:
    """Pins the refusal: a newer version, another schema or a broken file is one sentence
    naming the file; the store passes over it and says which and why."""
    st = standard_results(tmp_path)
    path = tmp_path / str(st.slow[40].run_dir) / "orchestrator_summary.json"
    data = json.loads(path.read_text())
    data["schema_version"] = max(READABLE_VERSIONS) + 1
    path.write_text(json.dumps(data))
    with pytest.raises(SummaryUnreadable) as err:
        read_run_summary(path)
    text = str(err.value)
    assert str(path) in text and "newer mlconsole" in text and "\n" not in text
    store = ResultsStore(tmp_path)
    assert st.slow[40].run_dir not in {r.run_dir.name for r in store.runs()}
    (why,) = store.unreadable()
    assert str(path) in why


def test_run_specs_round_trip_and_0_1_0_journal_lines_still_read() -> None:
    """Pins RunSpec's one JSON form, the journal's: 0.1.0's `started` lines give RunSpecs
    that write back to the same JSON."""
    lines = (V010 / "journal.jsonl").read_text().splitlines()
    started = [json.loads(x) for x in lines if '"started"' in x]
    assert len(started) == 8
    for entry in started:
        spec = spec_from_json(entry["spec"])
        assert spec_to_json(spec) == entry["spec"]
    with pytest.raises(ValueError, match="not a recorded run spec"):
        spec_from_json({"run_id": "x"})


def test_every_record_field_is_written_in_order_and_the_wrong_type_reads_as_missing() -> None:
    """The one codec (engine.results.record): fields in declaration order, each read by its
    annotation's reader, so a hand-edited file's wrong value is None, never a made-up one."""
    from engine.results.node_records import HostGpu, HostRecord
    from engine.results.schema import WallClock

    host = HostRecord(os="Linux", gpus=(HostGpu(0, "A30", 24576.0, "GPU-1"),), cpu_cores=8)
    written = host.to_json()
    assert list(written)[:6] == ["os", "python", "loadgen_version", "gpu_state", "driver", "gpus"]
    assert written["gpus"] == [
        {"index": 0, "name": "A30", "memory_total_mib": 24576.0, "uuid": "GPU-1"}
    ]
    assert HostRecord.from_json(json.loads(json.dumps(written))) == host
    wall = WallClock.from_json({"start": "x", "start_unix": "soon", "duration_s": True})
    assert wall == WallClock(start="x")
    assert HostRecord.from_json({"gpus": [1, {"index": "0"}]}).gpus == (HostGpu(None, None),)


def test_derived_keys_stay_where_the_files_have_always_had_them() -> None:
    """The verdicts a record's properties compute are written beside what they judge, in the
    order 0.1.x files have them (readers of the raw JSON look there)."""
    from engine.checks.accuracy import AccuracyRecord
    from engine.submission.eligibility import BrokenRule, Eligibility

    e = Eligibility("v6.0", "llama3.1-8b", "Offline", "performance", (BrokenRule("r", "t", "s"),))
    assert list(e.to_json())[:6] == [
        "round", "benchmark", "scenario", "mode", "eligible", "development_run"
    ]  # fmt: skip
    a = AccuracyRecord("scored", "score.py", 0, level="99")
    assert list(a.to_json())[6:8] == ["level", "verdict"]
