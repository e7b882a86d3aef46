"""An accuracy run's scores: read from what the benchmark's accuracy command printed
(`accuracy.txt`), and compared with the round's accuracy targets.

Why a tolerant reader: the reference scripts print a Python dict (`{'rouge1': 38.8, ...}`),
since numpy 2 with `np.float64(38.8)` around each value, and the image models print
`accuracy=76.456%, good=38228, total=50000`; the submission checker's own regexes broke on
these more than once (inference PRs #1454, #1439, #2094). Every `name: value` or
`name = value` pair is taken; a later one replaces an earlier one.

Targets (sources: mlcommons/inference `tools/submission/submission_checker/constants.py`
`accuracy-target` / `accuracy-upper-limit`, as collected in
/work/shared/reference/submission-facts.md and mlperf-facts.md): a score must reach the
level's fraction (99% or 99.9%) of the reference; `gen_len` and `tokens_per_sample` must
stay within +-10% of theirs. The bundled simulated harness has a target of its own (`demo`):
its scoring script (engine/harness/score.py) checks every token id against what the
simulated node generates, so a correct run scores 100.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.results.record import record_to_json

ACCURACY_FILE = "accuracy.txt"
LEVELS = ("99", "99.9")
_FRACTION = {"99": 0.99, "99.9": 0.999}

_PAIR = re.compile(
    r"""['"]?(?P<name>[A-Za-z_][A-Za-z0-9_\-]*)['"]?\s*[:=]\s*"""
    r"""(?:np\.\w+\(|numpy\.\w+\()?\s*'?(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"""
)


def parse_scores(text: str) -> dict[str, float]:
    """Every `name: value` / `name = value` pair in the accuracy command's output (the dict
    `evaluation.py` prints, `accuracy=76.4%` lines); the last value of a name wins."""
    scores: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("hash="):  # truncate_accuracy_log.py's hash line, not a score
            continue
        for m in _PAIR.finditer(line):
            try:
                scores[m.group("name")] = float(m.group("value"))
            except ValueError:
                continue
    return scores


@dataclass(frozen=True)
class Target:
    """One accuracy target: `metric` at least `fraction` of `reference` (kind "min"), or
    within [low, high] times `reference` (kind "range")."""

    metric: str
    reference: float
    kind: str = "min"  # "min" | "range"
    low: float = 0.9
    high: float = 1.1


@dataclass(frozen=True)
class ModelTargets:
    model: str  # the LoadGen model name
    targets: tuple[Target, ...]
    source: str


_CHECKER = "mlcommons/inference tools/submission/submission_checker/constants.py (v5.1)"
TARGETS: Mapping[str, ModelTargets] = {
    t.model: t
    for t in (
        ModelTargets(
            "llama3_1-8b",
            (
                Target("rouge1", 38.7792),
                Target("rouge2", 15.9075),
                Target("rougeL", 24.4957),
                Target("rougeLsum", 35.793),
                Target("gen_len", 8167644, "range"),
            ),
            _CHECKER,
        ),
        ModelTargets(
            "llama2-70b",
            (
                Target("rouge1", 44.4312),
                Target("rouge2", 22.0352),
                Target("rougeL", 28.6162),
                Target("tokens_per_sample", 294.45, "range"),
            ),
            _CHECKER,
        ),
        ModelTargets(
            "gptj",
            (
                Target("rouge1", 42.9865),
                Target("rouge2", 20.1235),
                Target("rougeL", 29.9881),
                Target("gen_len", 4016878, "range", low=0.9, high=float("inf")),
            ),
            _CHECKER,
        ),
        # 3d-unet's script prints `Accuracy: mean = 0.86112, kidney = ..., tumor = ...`.
        ModelTargets("3d-unet", (Target("mean", 0.86170),), _CHECKER),
        ModelTargets(
            "demo",
            (Target("token_accuracy", 100.0),),
            "the bundled simulated harness's own reference (engine/harness/score.py): every "
            "token id as the simulated node generates it; not an MLPerf target",
        ),
    )
}


def targets_for(model: str) -> ModelTargets | None:
    """The targets of a LoadGen model name; `llama3_1-8b-interactive` and other variants
    share their base model's."""
    if model in TARGETS:
        return TARGETS[model]
    for name in sorted(TARGETS, key=len, reverse=True):
        if model.startswith(name + "-"):
            return TARGETS[name]
    return None


@dataclass(frozen=True)
class ScoreCheck:
    """One target checked: the bound(s) it needs, the score found (None: not printed)."""

    metric: str
    value: float | None
    reference: float
    low: float | None
    high: float | None
    met: bool

    @property
    def sentence(self) -> str:
        if self.value is None:
            return f"{self.metric} missing from {ACCURACY_FILE} (needed for the target)"
        if self.high is None or self.high == float("inf"):
            bound = f">= {self.low:.6g}"
        else:
            bound = f"within [{self.low:.6g}, {self.high:.6g}]"
        word = "meets" if self.met else "misses"
        return f"{self.metric} {self.value:.6g} {word} {bound} (reference {self.reference:.6g})"

    def to_json(self) -> dict[str, Any]:
        high = None if self.high == float("inf") else self.high
        return {"metric": self.metric, "value": self.value, "reference": self.reference,
                "low": self.low, "high": high, "met": self.met}  # fmt: skip

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ScoreCheck:
        return cls(str(d.get("metric")), _num(d.get("value")), _num(d.get("reference")) or 0.0,
                   _num(d.get("low")), _num(d.get("high")), d.get("met") is True)  # fmt: skip


def check_scores(
    scores: Mapping[str, float], model: str, level: str = "99"
) -> tuple[ScoreCheck, ...] | None:
    """Each of the model's targets against `scores`; None when the model has no targets."""
    targets = targets_for(model)
    if targets is None:
        return None
    fraction = _FRACTION[level]
    checks = []
    for t in targets.targets:
        value = scores.get(t.metric)
        if t.kind == "min":
            low, high = t.reference * fraction, None
        else:
            low, high = t.reference * t.low, t.reference * t.high
        met = value is not None and value >= low and (high is None or value <= high)
        checks.append(ScoreCheck(t.metric, value, t.reference, low, high, met))
    return tuple(checks)


@dataclass(frozen=True)
class AccuracyRecord:
    """The accuracy step of one run, as the run summary records it (`accuracy` block).

    state: "scored" (the command ran and exited 0), "failed" (non-zero exit or could not
    run: `detail` says why), "not_run" (the run did not complete); verdict: "met",
    "missed", "no_targets" (the model has none) or None (no scores)."""

    state: str
    command: str
    exit_code: int | None = None
    detail: str = ""
    file: str | None = None
    scores: Mapping[str, float] = field(default_factory=dict)
    level: str = "99"
    checks: tuple[ScoreCheck, ...] = ()
    targets_source: str | None = None

    @property
    def verdict(self) -> str | None:
        if self.state != "scored":
            return None
        if not self.checks:
            return "no_targets"
        return "met" if all(c.met for c in self.checks) else "missed"

    def to_json(self) -> dict[str, Any]:
        return record_to_json(self, after="level", verdict=self.verdict)

    @classmethod
    def from_json(cls, data: Any) -> AccuracyRecord | None:
        if not isinstance(data, Mapping):
            return None
        scores = data.get("scores")
        checks = data.get("checks")
        return cls(
            state=str(data.get("state") or "failed"),
            command=str(data.get("command") or ""),
            exit_code=data.get("exit_code") if isinstance(data.get("exit_code"), int) else None,
            detail=str(data.get("detail") or ""),
            file=data.get("file") if isinstance(data.get("file"), str) else None,
            scores={str(k): float(v) for k, v in scores.items() if _num(v) is not None}
            if isinstance(scores, Mapping)
            else {},
            level=str(data.get("level") or "99"),
            checks=tuple(ScoreCheck.from_json(c) for c in checks if isinstance(c, Mapping))
            if isinstance(checks, list)
            else (),
            targets_source=data.get("targets_source")
            if isinstance(data.get("targets_source"), str)
            else None,
        )

    def line(self) -> str:
        """One line for batch output and the TUI: the verdict and the scores it rests on."""
        if self.state != "scored":
            return f"accuracy step {self.state}: {self.detail}".rstrip(": ")
        shown = ", ".join(f"{k} {v:.6g}" for k, v in self.scores.items()) or "no scores parsed"
        if self.verdict == "no_targets":
            return f"accuracy: {shown} (no accuracy targets known for this model)"
        missed = [c.sentence for c in self.checks if not c.met]
        head = f"accuracy {self.verdict} ({self.level}% targets): {shown}"
        return head + (f"; {'; '.join(missed)}" if missed else "")


def accuracy_lines(record: AccuracyRecord | None, *, paths: bool = True) -> list[str]:
    """The accuracy step in a few lines (the TUI's details and the run report): the verdict
    line, each target checked, where the output is kept and where the targets come from.
    `paths=False` (reports) leaves out the command, which names the node's paths."""
    if record is None:
        return []
    out = [record.line()]
    out += [f"  - {c.sentence}" for c in record.checks]
    if record.file:
        command = f" (command: {record.command})" if paths else ""
        out.append(f"  output: {record.file}{command}")
    if record.targets_source:
        out.append(f"  targets: {record.targets_source}")
    return out


def score_record(
    text: str, *, command: str, exit_code: int | None, model: str, level: str
) -> AccuracyRecord:
    """The record of an accuracy command that ran: its output's scores checked against the
    model's targets (a non-zero exit is `failed`, its scores still kept)."""
    scores = parse_scores(text)
    if exit_code != 0:
        return AccuracyRecord("failed", command, exit_code,
                              f"the accuracy command exited with code {exit_code}",
                              ACCURACY_FILE, scores, level)  # fmt: skip
    checks = check_scores(scores, model, level)
    targets = targets_for(model)
    return AccuracyRecord(
        "scored", command, exit_code, "", ACCURACY_FILE, scores, level, checks or (),
        targets.source if targets else None,
    )  # fmt: skip


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x)
