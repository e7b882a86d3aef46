"""The accuracy each benchmark must reach in a round, as data: the metric as `accuracy.txt`
names it (the dict the reference `evaluation.py` prints), its reference value, and the
fraction of it required (99% or 99.9%), with the upper bounds some metrics also have.

Source: CONSTANTS (`rules.CONSTANTS`) MODEL_CONFIG[round]["accuracy-target"] and
["accuracy-upper-limit"]; the LLM values agree between v5.1 and v6.0. The accuracy step
compares a run's parsed scores with `targets(round, model)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.submission.rules import CONSTANTS, get_round, resolve_benchmark


@dataclass(frozen=True)
class AccuracyTarget:
    """`metric` is the key in accuracy.txt; a score passes when minimum <= score (<= maximum
    where there is one)."""

    metric: str
    reference: float
    fraction: float  # of the reference required (0.99, 0.999, 0.9 for lengths)
    maximum: float | None = None
    source: str = CONSTANTS + " accuracy-target"

    @property
    def minimum(self) -> float:
        return self.reference * self.fraction

    def check(self, score: float | None) -> str | None:
        """None when `score` meets the target, else the sentence saying by how much not."""
        if score is None:
            return f"{self.metric} is missing from accuracy.txt"
        if score < self.minimum:
            return (
                f"{self.metric} {score:g} < {self.minimum:.6g} "
                f"({self.fraction * 100:g}% of {self.reference:g})"
            )
        if self.maximum is not None and score > self.maximum:
            return f"{self.metric} {score:g} > {self.maximum:.6g} upper limit"
        return None


def _rouge(r1, r2, rl, rlsum=None, q=0.99) -> tuple[AccuracyTarget, ...]:
    out = [AccuracyTarget("rouge1", r1, q), AccuracyTarget("rouge2", r2, q)]
    out.append(AccuracyTarget("rougeL", rl, q))
    if rlsum is not None:
        out.append(AccuracyTarget("rougeLsum", rlsum, q))
    return tuple(out)


def _len(metric: str, ref: float, upper_ref: float | None = None) -> AccuracyTarget:
    return AccuracyTarget(metric, ref, 0.9, (upper_ref or ref) * 1.1)


_TARGETS: dict[str, tuple[AccuracyTarget, ...]] = {
    "llama3.1-8b": (*_rouge(38.7792, 15.9075, 24.4957, 35.793), _len("gen_len", 8167644)),
    "llama3.1-8b-edge": (*_rouge(39.06, 16.1147, 24.6375, 36.124), _len("gen_len", 3051113)),
    "llama2-70b-99": (*_rouge(44.4312, 22.0352, 28.6162), _len("tokens_per_sample", 294.45)),
    "llama2-70b-99.9": (
        *_rouge(44.4312, 22.0352, 28.6162, q=0.999),
        _len("tokens_per_sample", 294.45),
    ),
    "mixtral-8x7b": (
        *_rouge(45.5989, 23.3526, 30.4608),
        _len("tokens_per_sample", 144.84, 145.9),
        AccuracyTarget("gsm8k", 73.66, 0.99),
        AccuracyTarget("mbxp", 60.16, 0.99),
    ),
    "llama3.1-405b": (
        AccuracyTarget("rougeL", 21.6666, 0.99),
        AccuracyTarget("exact_match", 90.1335, 0.99),
        _len("tokens_per_sample", 684.68),
    ),
    "deepseek-r1": (
        AccuracyTarget("exact_match", 81.3582, 0.99),
        _len("tokens_per_sample", 3886.2274),
    ),
    "gpt-oss-120b": (AccuracyTarget("exact_match", 83.13, 0.99),),
}


def targets(round_name: str | None, model: str | None) -> tuple[AccuracyTarget, ...]:
    """The targets of a benchmark (or LoadGen model name) in a round; () when the round does
    not hold it or none is tabulated."""
    name, _ = resolve_benchmark(model)
    if name is None or name not in get_round(round_name).benchmarks:
        return ()
    return _TARGETS.get(name, ())
