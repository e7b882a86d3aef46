"""LoadGen TestSettings for a fleet run: the same three sources as the bundled harness
(`engine.harness.settings`), later ones winning:

1. LoadGen's embedded mlperf.conf for the benchmark's model (official seeds, latency bounds,
   10-minute minimum durations);
2. the fleet run's defaults: exactly the requested samples, no minimum duration, equal-issue
   padding off, token latencies on (an LLM over streamed tokens), the stage's target QPS;
3. the benchmark's user.conf: each key it sets replaces the matching default.

So a planning run ends when its samples are done, and a submission run keeps mlperf.conf's
durations by setting them back in user.conf (`*.Server.min_duration = 600000`).
"""

from __future__ import annotations

from dataclasses import dataclass

import mlperf_loadgen as lg

from engine.errors import MlconsoleError
from engine.harness.settings import keys_set_for, parse_conf


class FleetSettingsError(MlconsoleError):
    """LoadGen would not take these settings; the sentence names the user.conf line."""

    exit_code = 2


@dataclass(frozen=True)
class FleetTest:
    scenario: str  # "Offline" | "Server"
    mode: str  # "performance" | "accuracy"
    samples: int
    model: str  # LoadGen's model name (user.conf key prefix)
    target_qps: float | None = None


@dataclass(frozen=True)
class ResolvedFleetSettings:
    settings: lg.TestSettings
    overridden: tuple[str, ...]  # user.conf keys that replaced a fleet default
    token_latencies: bool


def build_fleet_settings(test: FleetTest, user_conf_path: str | None) -> ResolvedFleetSettings:
    s = lg.TestSettings()
    s.scenario = getattr(lg.TestScenario, test.scenario)
    text = ""
    if user_conf_path is not None:
        with open(user_conf_path, encoding="utf-8") as f:
            text = f.read()
    parsed = parse_conf(text)
    if parsed.errors:
        line, why = parsed.errors[0]
        raise FleetSettingsError(
            f"the benchmark's user.conf line {line}: {why} (LoadGen would reject the whole file)"
        )
    if text.strip():
        rc = s.FromConfig(user_conf_path, test.model, test.scenario, 1)
    else:
        rc = s.FromConfig("", test.model, test.scenario, 0)
    if rc != 0:
        raise FleetSettingsError(f"LoadGen rejected the settings (FromConfig returned {rc})")
    from_user = keys_set_for(parsed.assignments, test.model, test.scenario)
    qps = float(test.target_qps) if test.target_qps else float(test.samples)
    defaults: list[tuple[str, str, object]] = [
        (
            "mode",
            "mode",
            lg.TestMode.AccuracyOnly if test.mode == "accuracy" else lg.TestMode.PerformanceOnly,
        ),
        ("min_duration", "min_duration_ms", 0),
        ("max_duration", "max_duration_ms", 0),
        ("min_query_count", "min_query_count", test.samples),
        ("max_query_count", "max_query_count", 0),
        ("performance_sample_count_override", "performance_sample_count_override", test.samples),
        ("sample_concatenate_permutation", "sample_concatenate_permutation", False),
        ("use_token_latencies", "use_token_latencies", True),
    ]
    if test.scenario == "Offline":
        defaults.append(("target_qps", "offline_expected_qps", qps))
    else:
        defaults.append(("target_qps", "server_target_qps", qps))
    overridden = []
    for key, attr, value in defaults:
        if key in from_user:
            overridden.append(key)
        else:
            setattr(s, attr, value)
    return ResolvedFleetSettings(s, tuple(sorted(overridden)), bool(s.use_token_latencies))
