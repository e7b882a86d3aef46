"""How many samples LoadGen will issue for a run, why, and the user.conf lines that make it
issue exactly what was asked. Pure functions of a `ProbedSettings` and the user.conf text.

LoadGen's rules (mlcommons/inference@b66003e1 `loadgen/test_settings_internal.cc`,
`loadgen/loadgen.cc` GenerateQueries, `loadgen/issue_query_controller.cc`; checked with the
probe against mlcommons-loadgen 6.0.17):

- Offline issues one query of max(min_query_count, 1.1 x min_duration x target_qps) samples;
  equal-issue mode (`sample_concatenate_permutation`) pads it to a multiple of the loaded set.
- Server issues every query it scheduled: Poisson arrivals at target_qps until min_duration
  and min_query_count are both reached, padded in equal-issue mode.
- SingleStream and MultiStream issue until min_query_count queries are done *and*
  min_duration has passed; what LoadGen generates up front is only a pool. In equal-issue mode
  SingleStream's min_query_count is raised to the next multiple of the loaded set (a multiple
  is raised by a whole set: 100 becomes 200 for 100 loaded samples).
- Accuracy mode issues every sample of the accuracy set once (MultiStream in whole queries).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.loadgen.userconf import conf_assignments, lookup_setting
from engine.probe.settings import ProbedSettings


@dataclass(frozen=True)
class Cause:
    """A setting that made LoadGen issue another count than requested, and where it came from."""

    text: str  # "min_query_count 13368"
    source: str  # "mlperf.conf" | "user.conf line 3" | "LoadGen's default" | ""

    def __str__(self) -> str:
        return f"{self.text} from {self.source}" if self.source else self.text


@dataclass(frozen=True)
class RunSize:
    """What LoadGen will issue. `exact` when LoadGen decides the count up front (Offline,
    Server, accuracy mode, or SingleStream/MultiStream with no min_duration); otherwise
    `at_least` samples, then on until `min_duration_s` has passed (at most `pool`)."""

    requested: int
    at_least: int
    exact: int | None
    pool: int | None = None
    min_duration_s: float = 0.0
    scheduled_s: float | None = None  # Server: the length of LoadGen's arrival schedule
    samples_per_query: int = 1
    causes: tuple[Cause, ...] = ()

    @property
    def holds(self) -> bool:
        return self.exact == self.requested

    @property
    def expected(self) -> int:
        """The count to plan with: the exact one, else the least LoadGen will issue."""
        return self.exact if self.exact is not None else self.at_least

    def sentence(self) -> str:
        """`LoadGen will issue 13,400 samples, not the 100 requested (min_query_count 13368
        from mlperf.conf; ...)`."""
        why = f" ({'; '.join(str(c) for c in self.causes)})" if self.causes else ""
        if self.exact is not None:
            if self.holds:
                return f"LoadGen will issue {self.exact:,} samples, as requested"
            return (
                f"LoadGen will issue {self.exact:,} samples, not the {self.requested:,} "
                f"requested{why}"
            )
        more = "" if self.at_least == self.requested else f" (not the {self.requested:,} requested)"
        return (
            f"LoadGen will issue at least {self.at_least:,} samples{more} and go on until "
            f"min_duration {self.min_duration_s * 1000:.0f} ms has passed{why}"
        )


_USERCONF_NAMES = {
    "min_duration_ms": "min_duration",
    "max_duration_ms": "max_duration",
    "min_query_count": "min_query_count",
    "max_query_count": "max_query_count",
    "performance_sample_count_override": "performance_sample_count_override",
    "sample_concatenate_permutation": "sample_concatenate_permutation",
    "server_target_qps": "target_qps",
    "offline_expected_qps": "target_qps",
    "single_stream_expected_latency_ns": "target_latency",
    "multi_stream_expected_latency_ns": "target_latency",
    "multi_stream_samples_per_query": "samples_per_query",
}


def _source(probed: ProbedSettings, attribute: str, user_conf: str | None) -> str:
    """Where the value of a TestSettings attribute came from."""
    req = probed.request
    setting = _USERCONF_NAMES.get(attribute, attribute)
    if user_conf is not None and probed.fromconfig_rc in (0, None):
        hit = lookup_setting(conf_assignments(user_conf), req.model, req.scenario, setting)
        if hit is not None:
            return f"user.conf line {hit[0]}"
    if probed.settings.get(attribute) != probed.defaults.get(attribute):
        return "mlperf.conf"
    return "LoadGen's default"


def _int(value: object, default: int = 0) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return int(value)
    return default


def run_size(probed: ProbedSettings, user_conf: str | None) -> RunSize:
    """What LoadGen will issue for the probed run. Requires `probed.ok`."""
    req = probed.request
    n = req.total
    d, s = probed.detail, probed.settings
    queries = _int(d.get("generated_query_count"))
    spq = max(1, _int(d.get("generated_samples_per_query"), 1))
    generated = queries * spq
    loaded = min(_int(d.get("effective_performance_sample_count"), n) or n, n)
    equal_issue = bool(d.get("effective_sample_concatenate_permutation"))
    min_duration_ms = _int(s.get("min_duration_ms"))
    src = lambda attr: _source(probed, attr, user_conf)  # noqa: E731

    if req.mode == "accuracy":
        count = _int(d.get("effective_accuracy_sample_count"), n) or n
        exact = generated if generated >= count else count
        causes = []
        if exact != n and req.scenario == "MultiStream":
            causes.append(Cause(f"MultiStream issues whole queries of {spq} samples", ""))
        elif exact != n:
            causes.append(
                Cause(f"accuracy sample count {count}", src("accuracy_sample_count_override"))
            )
        return RunSize(n, exact, exact, samples_per_query=spq, causes=tuple(causes))

    causes: list[Cause] = []
    if req.scenario == "Offline":
        asked = _int(d.get("effective_samples_per_query"), generated)
        mqc = _int(s.get("min_query_count"))
        qps = float(s.get("offline_expected_qps") or 0)
        by_duration = int(1.1 * min_duration_ms / 1000 * qps)
        if asked != n:
            if mqc >= by_duration:
                causes.append(Cause(f"min_query_count {mqc}", src("min_query_count")))
            else:
                causes.append(
                    Cause(
                        f"min_duration {min_duration_ms} ms at target_qps {qps:g} "
                        f"({by_duration} samples with LoadGen's 10% slack)",
                        src("min_duration_ms"),
                    )
                )
        if generated > asked and equal_issue:
            causes.append(_padding(loaded, probed, user_conf))
        return RunSize(n, generated, generated, samples_per_query=spq, causes=tuple(causes))

    if req.scenario == "Server":
        scheduled = probed.number("generated_query_duration")
        mqc = _int(s.get("min_query_count"))
        qps = float(s.get("server_target_qps") or 0)
        by_duration = int(min_duration_ms / 1000 * qps)
        if generated != n:
            if min_duration_ms and by_duration >= mqc:
                causes.append(
                    Cause(
                        f"min_duration {min_duration_ms} ms at target_qps {qps:g} "
                        f"(about {by_duration} arrivals)",
                        src("min_duration_ms"),
                    )
                )
            elif mqc != n:
                causes.append(Cause(f"min_query_count {mqc}", src("min_query_count")))
            if equal_issue and generated > max(mqc, by_duration):
                causes.append(_padding(loaded, probed, user_conf))
        return RunSize(
            n,
            generated,
            generated,
            scheduled_s=scheduled / 1e9 if scheduled else None,
            samples_per_query=spq,
            causes=tuple(causes),
        )

    # SingleStream and MultiStream: LoadGen stops once both minimums are met.
    effective_mqc = _int(d.get("effective_min_query_count"))
    at_least = effective_mqc * spq
    mqc = _int(s.get("min_query_count"))
    if at_least != n:
        if req.scenario == "MultiStream" and mqc * spq != n and math.ceil(n / spq) == mqc:
            causes.append(Cause(f"MultiStream issues whole queries of {spq} samples", ""))
        elif mqc * spq != n:
            causes.append(Cause(f"min_query_count {mqc}", src("min_query_count")))
        if effective_mqc > mqc and equal_issue:
            causes.append(_padding(loaded, probed, user_conf, single_stream=True))
    if min_duration_ms:
        causes.append(Cause(f"min_duration {min_duration_ms} ms", src("min_duration_ms")))
        return RunSize(
            n,
            at_least,
            None,
            pool=generated,
            min_duration_s=min_duration_ms / 1000,
            samples_per_query=spq,
            causes=tuple(causes),
        )
    return RunSize(n, at_least, at_least, samples_per_query=spq, causes=tuple(causes))


def _padding(
    loaded: int, probed: ProbedSettings, user_conf: str | None, *, single_stream: bool = False
) -> Cause:
    source = _source(probed, "sample_concatenate_permutation", user_conf)
    what = "raises the query count past the next" if single_stream else "pads to a"
    return Cause(
        f"equal-issue mode (sample_concatenate_permutation, from {source}) {what} "
        f"multiple of the {loaded:,} loaded samples",
        "",
    )


def exact_lines(probed: ProbedSettings, size: RunSize) -> tuple[str, ...]:
    """user.conf lines that make LoadGen issue the requested count (performance mode), most
    specific keys (`model.Scenario.key`) so that they win over any wildcard. Empty when the
    request holds already. Not valid for a submission: they drop the 10-minute minimum."""
    req = probed.request
    if req.mode == "accuracy":
        return ()
    n, s, d = req.total, probed.settings, probed.detail
    prefix = f"{req.model}.{req.scenario}."
    spq = size.samples_per_query
    queries = n if req.scenario in ("Offline", "Server", "SingleStream") else math.ceil(n / spq)
    lines: list[str] = []
    if _int(s.get("min_duration_ms")):
        lines.append(f"{prefix}min_duration = 0")
    if _int(s.get("min_query_count")) != queries:
        lines.append(f"{prefix}min_query_count = {queries}")
    if 0 < _int(s.get("max_query_count")) < queries:
        lines.append(f"{prefix}max_query_count = 0")
    if _int(s.get("max_duration_ms")):
        lines.append(f"{prefix}max_duration = 0")
    equal_issue = bool(d.get("effective_sample_concatenate_permutation"))
    override = _int(s.get("performance_sample_count_override"))
    if equal_issue and req.scenario == "SingleStream":
        # SingleStream pads a whole loaded set on top of a multiple: only turning equal-issue
        # mode off keeps the count (as MLCFlow's test runs do).
        lines.append(f"{prefix}sample_concatenate_permutation = 0")
    elif equal_issue and 0 < override < n:
        lines.append(f"{prefix}performance_sample_count_override = {n}")
    if not lines and size.holds:
        return ()
    return tuple(lines)


EXACT_HEADER = (
    "# exact_samples = true: mlconsole makes LoadGen issue exactly the requested samples "
    "(a development run, not valid for a submission)"
)


def with_lines(user_conf: str | None, lines: tuple[str, ...]) -> str:
    """The user.conf text with `lines` appended after a comment saying why (LoadGen uses the
    last value of a key, so they win over the same keys earlier in the text)."""
    text = user_conf or ""
    if not lines:
        return text
    if text and not text.endswith("\n"):
        text += "\n"
    return text + EXACT_HEADER + "\n" + "\n".join(lines) + "\n"
