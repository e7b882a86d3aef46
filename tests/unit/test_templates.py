"""Command templates: placeholders are filled, and a hostile value never runs.

The hostile-value tests run the rendered command with a real `sh -c` and look for the marker
file the value tries to create; they also check that the value arrives as exactly one word,
byte for byte.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from engine.config.load import parse_config
from engine.model import Mode, RunSpec, Scenario
from engine.run.templates import (
    BUILTIN_PLACEHOLDERS,
    TemplateError,
    TemplateSyntaxError,
    UnknownPlaceholder,
    placeholders,
    render_run,
    render_template,
)

HOSTILE = [
    "; touch MARKER",
    "$(touch MARKER)",
    "`touch MARKER`",
    "' ; touch MARKER ; '",
    '" ; touch MARKER ; "',
    '"$(touch MARKER)"',
    "&& touch MARKER",
    "| touch MARKER",
    "x > MARKER",
    "a\nb; touch MARKER",
    "${IFS}touch${IFS}MARKER",
    "it's a \\ back\\slash",
    "-n",
    "",
]


def _sh(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
    )


def test_placeholders_are_filled_and_braces_escaped() -> None:
    template = "run {python} --n {samples} awk '{{print $1}}' ${{HOME}}"
    assert placeholders(template) == {"python", "samples"}
    out = render_template(template, {"python": "python3", "samples": 100})
    assert out == "run python3 --n 100 awk '{print $1}' ${HOME}"


def test_quote_false_leaves_values_raw() -> None:
    text = render_template(
        "{model}.{scenario}.target_qps = {q}",
        {"model": "demo", "scenario": "Offline", "q": "1.5"},
        quote=False,
    )
    assert text == "demo.Offline.target_qps = 1.5"
    assert render_template("{d}/logs", {"d": "/tmp/a b"}, quote=False) == "/tmp/a b/logs"
    assert render_template("{d}/logs", {"d": "/tmp/a b"}) == "'/tmp/a b'/logs"


def test_unknown_placeholder_is_a_keyerror_with_a_sentence() -> None:
    with pytest.raises(UnknownPlaceholder) as info:
        render_template("x {nope} y", {"samples": 1})
    err = info.value
    assert isinstance(err, KeyError) and isinstance(err, TemplateError)
    assert err.name == "nope"
    assert str(err) == "unknown placeholder {nope}"  # a sentence, not KeyError's repr
    with pytest.raises(UnknownPlaceholder, match=r"\{cwd\}"):
        render_template("{cwd}", {"cwd": None})


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("echo {", "lone '{' at character 6"),
        ("echo }", "lone '}' at character 6"),
        ("echo {a b}", "{a b} at character 6 is not a placeholder name"),
        ("echo {0}", "{0} at character 6 is not a placeholder name"),
        ("echo {samples!r}", "is not a placeholder name"),
    ],
)
def test_bad_braces_are_a_syntax_error(template: str, fragment: str) -> None:
    with pytest.raises(TemplateSyntaxError) as info:
        placeholders(template)
    assert isinstance(info.value, ValueError)
    assert fragment in str(info.value)
    assert "{{" in str(info.value)  # says how to write a literal brace


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_never_run_in_a_real_shell(tmp_path: Path, value: str) -> None:
    command = render_template("printf '%s' {value}", {"value": value}, quote=True)
    result = _sh(command, tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "MARKER").exists(), f"{value!r} ran: {command}"
    assert result.stdout == value  # one word, byte for byte


def test_hostile_values_from_a_config_never_run(tmp_path: Path) -> None:
    """Values written in a config (node vars, python, names) reach the shell quoted."""
    config = parse_config(
        """
[nodes.evil]
python = "printf"
vars = { a = "$(touch MARKER)", b = "; touch MARKER", c = "`touch MARKER`" }

[benchmarks.echo]
command = "{python} '%s|' {a} {b} {c} {samples} {scenario} {log_dir}"
dataset_size = 10
log_dir = "{output_dir}/logs"
user_conf = "{model}.{scenario}.min_query_count = {samples}"
""",
        "evil.toml",
    )
    node, bench = config.nodes["evil"], config.benchmarks["echo"]
    run = RunSpec("s1-evil-5", "evil", "echo", Scenario.SERVER, Mode.PERFORMANCE, 5)
    out_dir = str(tmp_path / "run dir; touch MARKER")
    rendered = render_run(
        node, bench, run, output_dir=out_dir, user_conf_path=f"{out_dir}/user.conf"
    )
    result = _sh(rendered.command, tmp_path)
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "MARKER").exists()
    assert result.stdout == (
        f"$(touch MARKER)|; touch MARKER|`touch MARKER`|5|Server|{out_dir}/logs|"
    )
    assert rendered.log_dir == f"{out_dir}/logs"
    assert rendered.cwd is None
    assert rendered.user_conf == "*.Server.min_query_count = 5"


def test_render_run_offers_every_builtin(tmp_path: Path) -> None:
    config = parse_config(
        """
[nodes.n1]
python = "/opt/py/bin/python3"
vars = { speed = 19.5 }

[benchmarks.b]
command = "echo"
dataset_size = 13368
model = "llama"
"""
    )
    run = RunSpec("s3-n1-40", "n1", "b", Scenario.OFFLINE, Mode.ACCURACY, 40,
                  shard_start=120, group_id="s3-pair")  # fmt: skip
    rendered = render_run(
        config.nodes["n1"],
        config.benchmarks["b"],
        run,
        output_dir="/w/runs/x",
        user_conf_path="/w/runs/x/user.conf",
    )
    # {dataset_slice} exists only with the benchmark's shard_dataset.
    assert set(rendered.values) == (BUILTIN_PLACEHOLDERS - {"dataset_slice"}) | {"speed"}
    assert rendered.values == {
        "speed": "19.5",
        "samples": "40",
        "scenario": "Offline",
        "mode": "accuracy",
        "output_dir": "/w/runs/x",
        "user_conf": "/w/runs/x/user.conf",
        "shard_start": "120",
        "shard_count": "40",
        "node": "n1",
        "run_id": "s3-n1-40",
        "python": "/opt/py/bin/python3",
        "model": "llama",
        "dataset_size": "13368",
        "log_dir": "/w/runs/x",
    }
