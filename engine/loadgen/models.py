"""The MLPerf Inference models LoadGen knows by name: their datasets and sample counts.

One table, the home of these facts: the config reads a benchmark's default `dataset_size` from
it (a benchmark whose `model` is a LoadGen model name needs no `dataset_size` of its own), the
presets under configs/benchmarks/ rely on that, and the tests check the presets against it.

Sources: LoadGen's built-in mlperf.conf (mlcommons/inference@b66003e1 `loadgen/mlperf.conf`:
`performance_sample_count_override`, Offline `min_query_count`) and the submission checker's
`dataset-size` / `performance-sample-count` tables
(`tools/submission/submission_checker/constants.py`, v5.0 to v6.1), as collected in
/work/shared/reference/mlperf-facts.md section 4.6.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelFacts:
    """One model as LoadGen's mlperf.conf and the checker name it."""

    name: str  # the LoadGen model name: the first part of a user.conf key
    dataset: str
    dataset_size: int  # samples in the evaluation set (the QSL's total count for a full run)
    performance_sample_count: int  # mlperf.conf's performance_sample_count_override
    offline_min_query_count: int | None = None  # mlperf.conf's <model>.Offline.min_query_count
    equal_issue: bool = False  # mlperf.conf turns on sample_concatenate_permutation
    token_latencies: bool = False  # mlperf.conf turns on use_token_latencies


_CNN_DM = "CNN/DailyMail 3.0.0 validation"
_ORCA = "OpenOrca (MLPerf subset)"

MODELS: dict[str, ModelFacts] = {
    m.name: m
    for m in (
        ModelFacts("resnet50", "ImageNet 2012 validation", 50000, 1024, 24576),
        ModelFacts("retinanet", "OpenImages (MLPerf subset)", 24781, 64, 24576),
        ModelFacts("bert", "SQuAD v1.1 dev", 10833, 10833, 10833),
        ModelFacts("dlrm-v2", "Criteo 1TB (day 23)", 330067, 204800, 24576),
        # mlperf.conf sets 0 (the whole set), which is all 43 samples.
        ModelFacts("3d-unet", "KiTS19", 43, 43, 43, equal_issue=True),
        ModelFacts("gptj", _CNN_DM, 13368, 13368, 13368, equal_issue=True),
        ModelFacts("llama2-70b", _ORCA, 24576, 24576, 24576, True, True),
        ModelFacts("llama2-70b-interactive", _ORCA, 24576, 24576, None, True, True),
        ModelFacts("mixtral-8x7b", "OpenOrca + GSM8K + MBXP", 15000, 15000, 15000, True, True),
        ModelFacts("llama3_1-405b", "LongBench + RULER + others", 8313, 8313, 8313, True, True),
        ModelFacts("llama3_1-8b", _CNN_DM, 13368, 13368, 13368, True, True),
        ModelFacts("llama3_1-8b-edge", _CNN_DM + " (edge)", 5000, 5000, 5000, True, True),
        ModelFacts("llama3_1-8b-interactive", _CNN_DM, 13368, 13368, None, True, True),
        ModelFacts("stable-diffusion-xl", "COCO 2014 captions (subset)", 5000, 5000, 5000),
        ModelFacts("rgat", "IGBH", 788379, 788379, 788379, equal_issue=True),
        ModelFacts("deepseek-r1", "DeepSeek-R1 MLPerf mix", 4388, 4388, 4388, True, True),
        ModelFacts("whisper", "LibriSpeech", 1633, 1633, 1633, True, True),
    )
}


def model_facts(name: str) -> ModelFacts | None:
    """The facts for a LoadGen model name (`llama3_1-8b`), or None for a name LoadGen's
    mlperf.conf does not know (a custom harness, `*`, the bundled demo's `demo`)."""
    return MODELS.get(name)
