"""The presets under configs/benchmarks/: each family file is a valid config, each preset's
`init --preset` config is one, the facts they carry agree with the one table of them, and
configs/cluster.example.toml runs the same benchmark tables."""

from __future__ import annotations

import tomllib

import pytest

from engine.config.load import load_config, parse_config
from engine.config.presets import preset_config_text, presets, presets_dir
from engine.errors import UsageError
from engine.loadgen.models import MODELS
from tests.support.paths import REPO_ROOT

PRESETS = presets()
FAMILIES = sorted(presets_dir().glob("*.toml"))


def test_the_issue_s_families_are_all_there() -> None:
    names = set(PRESETS)
    for name in (
        "llama3.1-8b-offline", "llama3.1-8b-server", "llama3.1-8b-accuracy",
        "llama2-70b-offline", "llama2-70b-api-offline", "llama2-70b-api-server",
        "gptj-offline", "gptj-server", "nvidia-llama2-70b-offline",
        "mlcflow-llama3.1-8b-offline",
    ):  # fmt: skip
        assert name in names


@pytest.mark.parametrize("path", FAMILIES, ids=lambda p: p.stem)
def test_a_family_file_is_a_config_naming_its_source_and_its_docs_page(path) -> None:
    config = load_config(path)
    text = path.read_text()
    assert "Source: mlcommons/" in text
    page = REPO_ROOT / "docs" / "presets" / f"{path.stem}.md"
    assert f"docs/presets/{path.stem}.md" in text and page.is_file()
    for name, bench in config.benchmarks.items():
        facts = MODELS.get(bench.model)
        assert facts is not None, f"{name}: {bench.model} is not a LoadGen model name"
        # The size comes from the one table: no preset repeats it.
        assert "dataset_size" not in tomllib.loads(text)["benchmarks"][name]
        assert bench.dataset_size == facts.dataset_size
        assert name in page.read_text(), f"{page.name} does not describe {name}"
        if bench.exact_samples or bench.loadgen_settings == "user_conf":
            assert "{user_conf}" in bench.command
        if bench.trace and bench.trace_flag is None:
            assert "always" in text.lower()  # a harness that always writes the trace says so


@pytest.mark.parametrize("name", list(PRESETS))
def test_init_preset_writes_a_config_that_loads_with_that_benchmark_and_its_stages(name) -> None:
    text = preset_config_text(name)
    config = parse_config(text, f"{name}.toml")
    assert list(config.benchmarks) == [name]
    assert config.plan.stages and all(r.benchmark == name for r in config.plan.all_runs())
    assert text.startswith(f"# Written by `mlconsole init --preset {name}`")


def test_an_unknown_preset_is_bad_input_naming_the_known_ones() -> None:
    with pytest.raises(UsageError) as err:
        preset_config_text("llama3.1-8b-ofline")
    assert err.value.exit_code == 2 and "llama3.1-8b-offline" in str(err.value)


def test_the_cluster_example_runs_the_llama_presets_tables_unchanged() -> None:
    example = tomllib.loads((REPO_ROOT / "configs" / "cluster.example.toml").read_text())
    family = tomllib.loads((presets_dir() / "llama3.1-8b.toml").read_text())
    assert example["benchmarks"] == family["benchmarks"]
    load_config(REPO_ROOT / "configs" / "cluster.example.toml")
