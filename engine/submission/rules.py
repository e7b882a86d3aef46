"""The submission rules of each MLPerf Inference round, as data: one `Round` per round, each
figure with the source it was read from.

Rules change every round (seeds, models, limits, layout); the eligibility check, the checker's
headline and the export read them from here and nowhere else, so a new round is a new entry
in `ROUNDS`, not new code. The benchmark figures of v5.1 and v6.0 agree for every benchmark
both rounds hold (`MODEL_CONFIG` in the checker's constants); what differs is the seeds, the
benchmark list, the headline keys and the layout.

Sources (read, not copied):
- `CONSTANTS`: mlcommons/inference@001d64ca `tools/submission/submission_checker/constants.py`
  (MODEL_CONFIG per round, OFFLINE_MIN_SPQ_SINCE_V4, LLM_LATENCY_LIMITS, RESULT_FIELD_NEW,
  RESULT_FIELD_BENCHMARK_OVERWRITE, UNIT_DICT, SYSTEM_DESC_*, *_PATH).
- `PERF_CHECK`: mlcommons/inference
  `tools/submission/submission_checker/checks/performance_check.py` (the keys each check reads).
- v6.0 seeds: mlcommons/inference@b66003e1 `loadgen/mlperf.conf` (LoadGen 6.0.17, the release
  the v6.0 round runs; the checker at 001d64ca still carried placeholder seeds marked
  "TODO: Update random seeds"). v5.1 seeds: the checker's v5.1 block, and every published
  v5.1 log under tests/data/published carries them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONSTANTS = "mlcommons/inference@001d64ca tools/submission/submission_checker/constants.py"
PERF_CHECK = "mlcommons/inference tools/submission/submission_checker/checks/performance_check.py"
MLPERF_CONF_60 = "mlcommons/inference@b66003e1 loadgen/mlperf.conf (LoadGen 6.0.17)"

SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline", "Interactive")
# Scenarios whose run the checker judges by early stopping instead of a minimum query count.
EARLY_STOPPING_SCENARIOS = ("SingleStream", "MultiStream", "Server", "Interactive")
_MS = 1_000_000  # ns per ms


@dataclass(frozen=True)
class LlmLimits:
    """p99 time-to-first-token and time-per-output-token limits (ns) of one scenario."""

    ttft_ns: int
    tpot_ns: int


@dataclass(frozen=True)
class BenchmarkRules:
    """One benchmark as the checker knows it (its directory name in a submission)."""

    name: str  # the checker's benchmark name: the results/<system>/<name>/ directory
    performance_sample_count: int
    dataset_size: int
    min_queries: dict[str, int]  # per scenario (used where early stopping does not apply)
    offline_min_samples_per_query: int | None = None
    server_latency_ns: int | None = None  # the Server latency bound (effective_target_latency_ns)
    llm: bool = False  # token latencies required, equal-issue mode, tokens/s headline
    equal_issue: bool = False  # sample_concatenate_permutation required (the LLMs: inference#1610)
    llm_limits: dict[str, LlmLimits] = field(default_factory=dict)
    compliance_tests: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()  # the scenarios a submission may hold for it
    headline_keys: dict[str, str] = field(default_factory=dict)  # per-benchmark overrides


@dataclass(frozen=True)
class Round:
    """One round's rules. `layout` is "v5" (compliance/ and measurements/ beside results/)
    or "v6" (TEST0X, measurements.json, user.conf and README.md inside the scenario dir)."""

    name: str  # "v5.1": the checker's --version string
    seeds: dict[str, int]
    seeds_source: str
    benchmarks: dict[str, BenchmarkRules]
    headline_keys: dict[str, str]  # per scenario: RESULT_FIELD_NEW
    llm_headline_keys: dict[str, str]  # per scenario for LLMs: RESULT_FIELD_BENCHMARK_OVERWRITE
    layout: str
    code_dir: str  # "code" (v5.x) or "src" (v6.x)
    min_duration_ms: int = 600_000  # TEST_DURATION_MS
    source: str = CONSTANTS


def _llm(server: tuple[int, int], interactive: tuple[int, int] | None = None) -> dict:
    out = {"Server": LlmLimits(server[0] * _MS, server[1] * _MS)}
    if interactive:
        out["Interactive"] = LlmLimits(interactive[0] * _MS, interactive[1] * _MS)
    return out


_SS, _MSQ, _SRV = 1024, 270336, 270336
_DC_LLM = ("Offline", "Server", "Interactive")


def _b(name, psc, size, mq, spq=None, lat_ms=None, **kw) -> BenchmarkRules:
    return BenchmarkRules(
        name, psc, size, mq, spq, lat_ms * _MS if lat_ms is not None else None, **kw
    )


# Every benchmark of v5.1 and v6.0 with its figures (CONSTANTS: performance-sample-count,
# dataset-size, min-queries, latency-constraint, OFFLINE_MIN_SPQ_SINCE_V4, LLM_LATENCY_LIMITS,
# models_TEST0X). The values agree between the two rounds for each benchmark both hold.
_VISION = {"SingleStream": _SS, "MultiStream": _MSQ, "Server": _SRV, "Offline": 1}
_BENCHMARKS = {
    b.name: b
    for b in (
        _b(
            "resnet",
            1024,
            50000,
            _VISION,
            24576,
            15,
            compliance_tests=("TEST01", "TEST04"),
            scenarios=("SingleStream", "MultiStream", "Server", "Offline"),
        ),
        _b(
            "retinanet",
            64,
            24781,
            _VISION,
            24576,
            100,
            compliance_tests=("TEST01",),
            scenarios=("SingleStream", "MultiStream", "Server", "Offline"),
        ),
        *(
            _b(
                n,
                10833,
                10833,
                {"SingleStream": _SS, "Offline": 1},
                10833,
                compliance_tests=("TEST01",),
                scenarios=("SingleStream", "Offline"),
            )
            for n in ("bert-99", "bert-99.9")
        ),
        *(
            _b(
                n,
                204800,
                330067,
                {"Server": _SRV, "Offline": 1},
                24576,
                60,
                compliance_tests=("TEST01",),
                scenarios=("Server", "Offline"),
            )
            for n in ("dlrm-v2-99", "dlrm-v2-99.9")
        ),
        *(
            _b(
                n,
                43,
                43,
                {"SingleStream": _SS, "Offline": 1},
                43,
                compliance_tests=("TEST01",),
                scenarios=("SingleStream", "Offline"),
            )
            for n in ("3d-unet-99", "3d-unet-99.9")
        ),
        _b(
            "llama3.1-8b",
            13368,
            13368,
            {"SingleStream": _SS, "Server": _SRV, "Offline": 1},
            13368,
            20000,
            llm=True,
            equal_issue=True,
            llm_limits=_llm((2000, 100), (500, 30)),
            compliance_tests=("TEST06",),
            scenarios=_DC_LLM,
        ),
        _b(
            "llama3.1-8b-edge",
            5000,
            5000,
            {"SingleStream": _SS, "Offline": 1},
            5000,
            llm=True,
            equal_issue=True,
            compliance_tests=("TEST06",),
            scenarios=("SingleStream", "Offline"),
            headline_keys={"SingleStream": "result_90.00_percentile_latency_ns"},
        ),
        *(
            _b(
                n,
                24576,
                24576,
                {"SingleStream": _SS, "Server": _SRV, "Offline": 1},
                24576,
                20000,
                llm=True,
                equal_issue=True,
                llm_limits=_llm((2000, 200), (450, 40)),
                compliance_tests=("TEST06",),
                scenarios=_DC_LLM,
            )
            for n in ("llama2-70b-99", "llama2-70b-99.9")
        ),
        _b(
            "stable-diffusion-xl",
            5000,
            5000,
            {"SingleStream": _SS, "Server": _SRV, "Offline": 1},
            5000,
            20000,
            compliance_tests=("TEST01", "TEST04"),
            scenarios=("SingleStream", "Server", "Offline"),
        ),
        _b(
            "mixtral-8x7b",
            15000,
            15000,
            {"SingleStream": _SS, "Server": _SRV, "Offline": 1},
            15000,
            20000,
            llm=True,
            equal_issue=True,
            llm_limits=_llm((2000, 200)),
            compliance_tests=("TEST06",),
            scenarios=("Server", "Offline"),
        ),
        _b(
            "llama3.1-405b",
            8313,
            8313,
            {"SingleStream": _SS, "Server": _SRV, "Offline": 1},
            8313,
            60000,
            llm=True,
            equal_issue=True,
            llm_limits=_llm((6000, 175), (4500, 80)),
            compliance_tests=("TEST06",),
            scenarios=_DC_LLM,
        ),
        _b(
            "rgat",
            788379,
            788379,
            {"SingleStream": _SS, "Offline": 1},
            788379,
            compliance_tests=("TEST01",),
            scenarios=("Offline",),
        ),
        _b(
            "pointpainting",
            1024,
            39987,
            {"SingleStream": _SS},
            6636,
            compliance_tests=("TEST01", "TEST04"),
            scenarios=("SingleStream",),
        ),
        _b(
            "deepseek-r1",
            4388,
            4388,
            {"SingleStream": _SS, "Server": _SRV, "Offline": 1},
            4388,
            60000,
            llm=True,
            equal_issue=True,
            llm_limits=_llm((2000, 80), (1500, 15)),
            compliance_tests=("TEST06",),
            scenarios=_DC_LLM,
        ),
        _b(
            "whisper",
            1633,
            1633,
            {"SingleStream": _SS, "Offline": 1},
            1633,
            llm=True,
            equal_issue=True,
            compliance_tests=("TEST01",),
            scenarios=("Offline",),
        ),
        _b(
            "gpt-oss-120b",
            6396,
            6396,
            {"SingleStream": _SS, "Server": _SRV, "Offline": 1},
            6396,
            60000,
            llm=True,
            equal_issue=True,
            llm_limits=_llm((3000, 80), (2000, 15)),
            compliance_tests=("TEST07", "TEST09"),
            scenarios=_DC_LLM,
        ),
    )
}

_V51_NAMES = (
    "resnet", "retinanet", "bert-99", "bert-99.9", "dlrm-v2-99", "dlrm-v2-99.9", "3d-unet-99",
    "3d-unet-99.9", "llama3.1-8b", "llama3.1-8b-edge", "llama2-70b-99", "llama2-70b-99.9",
    "stable-diffusion-xl", "mixtral-8x7b", "llama3.1-405b", "rgat", "pointpainting",
    "deepseek-r1", "whisper",
)  # fmt: skip
# v6.0 drops dlrm-v2 (dlrm-v3 replaces it) and adds gpt-oss-120b (CONSTANTS MODEL_CONFIG
# v6.0 "models"; qwen3-vl, wan-2.2, dlrm-v3 and yolo are not tabulated here yet).
_V60_NAMES = tuple(n for n in _V51_NAMES if not n.startswith("dlrm-v2")) + ("gpt-oss-120b",)

_HEADLINE = {
    "Offline": "result_samples_per_second",
    "SingleStream": "early_stopping_latency_ss",
    "MultiStream": "early_stopping_latency_ms",
    "Server": "result_completed_samples_per_sec",
    "Interactive": "result_completed_samples_per_sec",
}
_LLM_HEADLINE = {
    "Offline": "result_tokens_per_second",
    "Server": "result_completed_tokens_per_second",
    "Interactive": "result_completed_tokens_per_second",
}

ROUNDS: dict[str, Round] = {
    r.name: r
    for r in (
        Round(
            "v5.1",
            {
                "qsl_rng_seed": 1780908523862526354,
                "sample_index_rng_seed": 14771362308971278857,
                "schedule_rng_seed": 18209322760996052031,
            },
            CONSTANTS + " MODEL_CONFIG['v5.1']['seeds']",
            {n: _BENCHMARKS[n] for n in _V51_NAMES},
            _HEADLINE,
            _LLM_HEADLINE,
            layout="v5",
            code_dir="code",
        ),
        Round(
            "v6.0",
            {
                "qsl_rng_seed": 2085463073848966840,
                "sample_index_rng_seed": 2747215439041700203,
                "schedule_rng_seed": 16159082839903944936,
            },
            MLPERF_CONF_60,
            {n: _BENCHMARKS[n] for n in _V60_NAMES},
            _HEADLINE,
            _LLM_HEADLINE,
            layout="v6",
            code_dir="src",
        ),
    )
}
DEFAULT_ROUND = "v6.0"

# LoadGen model names (user.conf keys, mlconsole's `model`) -> (benchmark, scenario override).
# CONSTANTS model_mapping, plus the `-interactive` config keys LoadGen reads for Interactive.
_ALIASES: dict[str, tuple[str, str | None]] = {
    "resnet50": ("resnet", None),
    "bert": ("bert-99", None),
    "dlrm-v2": ("dlrm-v2-99", None),
    "3d-unet": ("3d-unet-99", None),
    "llama2-70b": ("llama2-70b-99", None),
    "llama2-70b-interactive": ("llama2-70b-99", "Interactive"),
    "llama3_1-8b": ("llama3.1-8b", None),
    "llama3_1-8b-edge": ("llama3.1-8b-edge", None),
    "llama3_1-8b-interactive": ("llama3.1-8b", "Interactive"),
    "llama3_1-405b": ("llama3.1-405b", None),
    "llama3_1-405b-interactive": ("llama3.1-405b", "Interactive"),
    "deepseek-r1-interactive": ("deepseek-r1", "Interactive"),
    "gpt-oss-120b-interactive": ("gpt-oss-120b", "Interactive"),
}


def get_round(name: str | None) -> Round:
    """The round named (`v6.0`, also `6.0`), or the default round; KeyError names the known."""
    key = name or DEFAULT_ROUND
    key = key if key.startswith("v") else f"v{key}"
    if key not in ROUNDS:
        raise KeyError(f"unknown round {name!r}; known: {', '.join(ROUNDS)}")
    return ROUNDS[key]


def resolve_benchmark(model: str | None) -> tuple[str | None, str | None]:
    """(the checker's benchmark name, a scenario it implies) for a LoadGen model name or a
    benchmark directory name; (None, None) for a name neither knows (a custom harness, `*`)."""
    if not model or model == "*":
        return None, None
    if model in _BENCHMARKS:
        return model, None
    if model in _ALIASES:
        return _ALIASES[model]
    return None, None
