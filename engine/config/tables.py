"""The readers of a config's own tables: `[settings]`, each `[nodes.<name>]`,
`[benchmarks.<name>]` and `[services.<name>]`, from a `Section` to its frozen dataclass.

Each reader checks its table's keys and values where they stand (the key path and line in
every error) and takes each default from the dataclass itself. What spans tables (the plan,
the templates against the nodes that run them, containers) is `engine.config.load`'s.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from engine.config.container import container_spec
from engine.config.keys import (
    ACCURACY_LEVELS,
    BENCHMARK_KEYS,
    FORWARD_MODES,
    LOADGEN_SETTINGS,
    NODE_KEYS,
    OPTIONAL_SAMPLING_KEYS,
    PROGRESS_STREAMS,
    SERVICE_KEYS,
    SETTINGS_KEYS,
    TEMPLATE_FIELDS,
    TRANSPORTS,
)
from engine.config.reader import (
    REQUIRED,
    Section,
    describe,
    quoted_list,
)
from engine.config.slurm_node import slurm_spec
from engine.loadgen.models import model_facts
from engine.model import Benchmark, Mode, NodeSpec, Scenario, ServiceSpec, Settings
from engine.run.templates import BUILTIN_PLACEHOLDERS, TemplateSyntaxError, placeholders
from engine.submission.rules import ROUNDS
from engine.transport.detach import valid_env_name

_PLACEHOLDER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def settings_table(sec: Section) -> Settings:
    sec.check_keys(SETTINGS_KEYS, "[settings]")
    d = Settings()
    return Settings(
        results_dir=sec.string("results_dir", d.results_dir),
        reports_dir=sec.string("reports_dir", d.reports_dir),
        poll_interval_s=sec.seconds("poll_interval_s", d.poll_interval_s),
        stall_timeout_s=sec.seconds("stall_timeout_s", d.stall_timeout_s),
        telemetry_interval_s=sec.seconds("telemetry_interval_s", d.telemetry_interval_s),
        theme=sec.string("theme", d.theme),
        baseline_node=sec.string("baseline_node", d.baseline_node),
        regression_margin=sec.fraction("regression_margin", d.regression_margin),
        submission_round=sec.word("submission_round", tuple(ROUNDS), d.submission_round),
        secret_names=_secret_names(sec),
    )


def _secret_names(sec: Section) -> tuple[str, ...]:
    value = sec.data.get("secret_names", [])
    expected = 'an array of name patterns, e.g. ["*_PAT", "WANDB_*"] (globs, any case)'
    if not isinstance(value, list):
        raise sec.error("secret_names", "got " + describe(value), expected)
    for index, item in enumerate(value, start=1):
        if not isinstance(item, str) or not item.strip():
            raise sec.source.error((*sec.at("secret_names"), index), f"got {item!r}", expected)
    return tuple(value)


def node_table(sec: Section) -> NodeSpec:
    name = str(sec.path[-1])
    sec.check_keys(NODE_KEYS, f"a node ([nodes.{name}])")
    d = NodeSpec(name=name)
    transport = sec.word("transport", TRANSPORTS, d.transport)
    host = sec.string(
        "host",
        REQUIRED if transport == "ssh" else None,
        expected="a host name or address (ssh nodes need one)",
    )
    env = _env(sec)
    node_vars = sec.scalar_map("vars", what="template values") or {}
    for var in node_vars:
        if not _PLACEHOLDER_NAME.match(var):
            raise sec.source.error(
                (*sec.at("vars"), var),
                f'"{var}" cannot be a placeholder name',
                "letters, digits and _, not starting with a digit",
            )
        if var in BUILTIN_PLACEHOLDERS:
            raise sec.source.error(
                (*sec.at("vars"), var),
                f'"{var}" is a built-in placeholder; a node cannot redefine it',
                "a name other than " + quoted_list(sorted(BUILTIN_PLACEHOLDERS)),
            )
    _check_node_paths(sec)
    return NodeSpec(
        name=name,
        transport=transport,
        host=host,
        port=sec.integer("port", d.port, low=1, high=65535),
        user=sec.string("user", d.user),
        identity_file=sec.string("identity_file", d.identity_file),
        known_hosts=sec.string("known_hosts", d.known_hosts),
        verify_host_key=sec.boolean("verify_host_key", d.verify_host_key),
        use_agent=sec.boolean("use_agent", d.use_agent),
        workdir=sec.string("workdir", d.workdir),
        # A local node runs the harness with the controller's own interpreter by default: it
        # has LoadGen (an mlconsole dependency) even when the venv is not on PATH. So does a
        # Slurm node submitted from here (its nodes share this file system).
        python=sec.string(
            "python", sys.executable if transport == "local" or host is None else d.python
        ),
        env=env,
        gpus=_gpus(sec),
        vars=node_vars,
        connect_timeout_s=sec.seconds("connect_timeout_s", d.connect_timeout_s),
        login_timeout_s=sec.seconds("login_timeout_s", d.login_timeout_s),
        keepalive_s=sec.seconds("keepalive_s", d.keepalive_s),
        max_sessions=sec.integer("max_sessions", d.max_sessions, low=1, high=10),
        node_agent=sec.boolean("node_agent", d.node_agent),
        simulated=sec.boolean("simulated", d.simulated),
        slurm=slurm_spec(sec, transport),
    )


def _check_node_paths(sec: Section) -> None:
    """A workdir that climbs out with `..` would only be refused at launch (a failed run
    recorded): refuse it with the config instead."""
    workdir = sec.data.get("workdir")
    if isinstance(workdir, str) and ".." in workdir.split("/"):
        raise sec.error(
            "workdir",
            f'"{workdir}" contains ".."',
            "a path without .. components (relative paths are under the node's $HOME)",
        )


def _gpus(sec: Section) -> tuple[int, ...] | None:
    if not sec.has("gpus"):
        return None
    expected = "a non-empty array of distinct GPU indexes >= 0 (leave gpus out to use every GPU)"
    return sec.distinct_integers(
        "gpus", low=0, expected=expected, twice="lists a GPU twice", show=repr
    )


def benchmark_table(sec: Section) -> Benchmark:
    name = str(sec.path[-1])
    sec.check_keys(BENCHMARK_KEYS, f"a benchmark ([benchmarks.{name}])")
    d = Benchmark(name=name, command="", dataset_size=1)
    model = sec.string("model", d.model)
    known = model_facts(model)
    bench = Benchmark(
        name=name,
        # Required by the stages that launch it (run, sweep, group); a benchmark used only by
        # fleet stages has no harness command: the fleet is its SUT.
        command=sec.string("command", "", expected="the harness command line (a template)"),
        # A LoadGen model name brings its dataset's size (engine/loadgen/models.py).
        dataset_size=sec.integer("dataset_size", known.dataset_size if known else REQUIRED, low=1),
        scenario=sec.choice("scenario", Scenario, d.scenario),
        mode=sec.choice("mode", Mode, d.mode),
        model=model,
        log_dir=sec.string("log_dir", d.log_dir),
        cwd=sec.string("cwd", d.cwd),
        progress_pattern=sec.string("progress_pattern", d.progress_pattern),
        progress_stream=sec.word("progress_stream", PROGRESS_STREAMS, d.progress_stream),
        user_conf=sec.string(
            "user_conf", d.user_conf, allow_empty=True, expected="user.conf text (a template)"
        ),
        loadgen_settings=sec.word("loadgen_settings", LOADGEN_SETTINGS, d.loadgen_settings),
        exact_samples=sec.boolean("exact_samples", d.exact_samples),
        trace=sec.boolean("trace", d.trace),
        trace_flag=sec.string(
            "trace_flag", d.trace_flag, expected="the harness's flag that turns the trace on"
        ),
        accuracy_command=sec.string(
            "accuracy_command", d.accuracy_command, expected="a command line (a template)"
        ),
        accuracy_level=sec.word("accuracy_level", ACCURACY_LEVELS, d.accuracy_level),
        audit_config_intended=sec.boolean("audit_config_intended", d.audit_config_intended),
        stall_timeout_s=sec.seconds("stall_timeout_s", d.stall_timeout_s),
        supports_shards=sec.boolean("supports_shards", d.supports_shards),
        simulated=sec.boolean("simulated", d.simulated),
        dataset=sec.string(
            "dataset", d.dataset, expected='a dataset file on the controller, or "synthetic"'
        ),
        prompt_field=sec.string("prompt_field", d.prompt_field),
        max_tokens=sec.integer("max_tokens", d.max_tokens, low=1),
        min_tokens=_optional(sec, "min_tokens", d.min_tokens, integer=True),
        temperature=_optional(sec, "temperature", d.temperature),
        top_p=_optional(sec, "top_p", d.top_p),
        top_k=_optional(sec, "top_k", d.top_k, integer=True),
        seed=_optional(sec, "seed", d.seed, integer=True),
        request_extra=_request_extra(sec),
        shard_dataset=sec.string("shard_dataset", d.shard_dataset),
        container=container_spec(sec),
    )
    for field in TEMPLATE_FIELDS:
        template = getattr(bench, field)
        if template is None:
            continue
        try:
            used = placeholders(template)
        except TemplateSyntaxError as err:
            raise sec.error(field, str(err)) from None
        if field == "log_dir" and "log_dir" in used:
            raise sec.error(field, "cannot use {log_dir} inside log_dir itself")
        if "dataset_slice" in used and (bench.shard_dataset is None or field == "shard_dataset"):
            raise sec.error(
                field,
                "uses {dataset_slice}, which exists only with shard_dataset"
                if field != "shard_dataset"
                else "cannot use {dataset_slice} inside shard_dataset itself",
                "shard_dataset naming the dataset file to slice per shard",
            )
    if bench.user_conf:
        _check_user_conf(sec, bench.user_conf)
    if bench.progress_pattern is not None:
        _check_progress_pattern(sec, bench.progress_pattern)
    if bench.trace_flag is not None and not bench.trace_flag.startswith("-"):
        raise sec.error(
            "trace_flag",
            f'got "{bench.trace_flag}"',
            'the harness\'s command-line flag, e.g. "--enable-log-trace"',
        )
    if bench.exact_samples and bench.loadgen_settings != "user_conf":
        raise sec.error(
            "exact_samples",
            "needs a harness that applies mlconsole's user.conf (exact samples are user.conf "
            "lines)",
            'loadgen_settings = "user_conf" beside it, and {user_conf} in the command',
        )
    if bench.loadgen_settings == "user_conf" and "user_conf" not in placeholders(bench.command):
        raise sec.error(
            "loadgen_settings",
            'is "user_conf" but the command never passes {user_conf} to the harness',
            "the harness's user.conf flag in the command, e.g. --user-conf {user_conf}",
        )
    return bench


def _optional(sec: Section, key: str, default: Any, *, integer: bool = False) -> Any:
    """A generation setting, or None when the config writes `false` (leave it out)."""
    assert key in OPTIONAL_SAMPLING_KEYS
    if sec.data.get(key) is False:
        return None
    if sec.data.get(key) is True:
        raise sec.error(key, "got a boolean true", "a number, or false to leave it out")
    if integer:
        value = sec.integer(key, default, low=-1 if key == "top_k" else 0)
        return value
    return sec.number(key, default)


def _request_extra(sec: Section) -> dict[str, Any]:
    extra = sec.table("request_extra", expected="a table of JSON fields added to each request")
    if extra is None:
        return {}
    reserved = {"prompt", "stream", "model"}
    for key in extra.data:
        if key in reserved:
            raise extra.error(
                key,
                f'"{key}" is set by the fleet itself',
                "fields other than " + ", ".join(sorted(reserved)),
            )
    return dict(extra.data)


def _env(sec: Section) -> dict[str, str]:
    """A node's or a service's `env` table: each name a shell variable name."""
    env = sec.scalar_map("env", what="environment variables") or {}
    for var in env:
        if not valid_env_name(var):
            raise sec.source.error(
                (*sec.at("env"), var),
                f'"{var}" is not a valid shell variable name',
                "letters, digits and _, not starting with a digit",
            )
    return env


def service_table(sec: Section) -> ServiceSpec:
    name = str(sec.path[-1])
    sec.check_keys(SERVICE_KEYS, f"a service ([services.{name}])")
    d = ServiceSpec(name=name, port=1)
    env = _env(sec)
    health = sec.string("health_path", d.health_path)
    if not health.startswith("/"):
        raise sec.error(
            "health_path", f'got "{health}"', 'a path starting with "/", e.g. "/health"'
        )
    command = sec.string(
        "command", None, expected="the server's command line (a template with {port})"
    )
    if command is not None:
        try:
            placeholders(command)
        except TemplateSyntaxError as err:
            raise sec.error("command", str(err)) from None
    return ServiceSpec(
        name=name,
        # 0: the server picks a free port and writes it to {port_file} (local demo nodes).
        port=sec.integer("port", REQUIRED, low=0, high=65535),
        command=command,
        model=sec.string("model", d.model),
        health_path=health,
        ready_timeout_s=sec.seconds("ready_timeout_s", d.ready_timeout_s),
        env=env,
        cwd=sec.string("cwd", d.cwd),
        forward=sec.word("forward", FORWARD_MODES, d.forward),
        host=sec.string("host", d.host),
        keep_running=sec.boolean("keep_running", d.keep_running),
        max_in_flight=sec.integer("max_in_flight", d.max_in_flight, low=1),
        request_timeout_s=sec.seconds("request_timeout_s", d.request_timeout_s),
        return_token_ids=sec.boolean("return_token_ids", d.return_token_ids),
        simulated=sec.boolean("simulated", d.simulated),
        container=container_spec(sec),
    )


def _check_user_conf(sec: Section, template: str) -> None:
    """A user.conf line LoadGen would reject (it then applies none of the file) is a config
    error. Lines with a placeholder are checked per run, once rendered, by the runner."""
    from engine.loadgen.userconf import check_user_conf, loadgen_rejects

    fixed = "\n".join("" if "{" in line else line for line in template.splitlines())
    for problem in check_user_conf(fixed, source="user.conf"):
        if loadgen_rejects(problem):
            raise sec.error(
                "user_conf",
                f"line {problem.line} of the user.conf text: {problem.message}",
                "user.conf lines of the form 'model.scenario.key = value'",
            )


def _check_progress_pattern(sec: Section, pattern: str) -> None:
    expected = "a Python regex with a named group (?P<completed>\\d+), optionally (?P<total>\\d+)"
    try:
        compiled = re.compile(pattern)
    except re.error as err:
        raise sec.error("progress_pattern", f"is not a valid regex: {err}", expected) from None
    if "completed" not in compiled.groupindex:
        raise sec.error("progress_pattern", "has no group named completed", expected)
