"""The keys each config table accepts, in the order the config reference lists them.

One place for the schema's names: the reader refuses anything else (suggesting the closest),
warnings and the snapshot ask which keys only matter to SSH nodes.
"""

from __future__ import annotations

TOP_KEYS = ("settings", "nodes", "services", "benchmarks", "plan")
SETTINGS_KEYS = (
    "results_dir",
    "reports_dir",
    "poll_interval_s",
    "stall_timeout_s",
    "telemetry_interval_s",
    "theme",
    "baseline_node",
    "regression_margin",
    "submission_round",
    "secret_names",
)
# Keys a local node ignores (the reader accepts them; config_warnings points them out).
SSH_ONLY_KEYS = (
    "host",
    "port",
    "user",
    "identity_file",
    "known_hosts",
    "verify_host_key",
    "use_agent",
    "connect_timeout_s",
    "login_timeout_s",
    "keepalive_s",
    "max_sessions",
    "node_agent",
)
NODE_KEYS = (
    "transport", *SSH_ONLY_KEYS, "workdir", "python", "env", "gpus", "vars", "simulated", "slurm"
)  # fmt: skip
# [nodes.NAME.slurm]: where a Slurm node's jobs go (engine/config/slurm_node.py)
SLURM_KEYS = (
    "partition",
    "account",
    "qos",
    "gres",
    "constraint",
    "time_limit",
    "nodes",
    "sbatch_options",
)
BENCHMARK_KEYS = (
    "command",
    "dataset_size",
    "scenario",
    "mode",
    "model",
    "log_dir",
    "cwd",
    "progress_pattern",
    "progress_stream",
    "user_conf",
    "loadgen_settings",
    "exact_samples",
    "trace",
    "trace_flag",
    "accuracy_command",
    "accuracy_level",
    "audit_config_intended",
    "stall_timeout_s",
    "supports_shards",
    "simulated",
    # fleet runs: the controller-side dataset and the request's generation settings
    "dataset",
    "prompt_field",
    "max_tokens",
    "min_tokens",
    "temperature",
    "top_p",
    "top_k",
    "seed",
    "request_extra",
    # sharding a harness that has no shard offset
    "shard_dataset",
    # the container the harness runs in (engine/config/container.py)
    "container",
)
# Generation settings a benchmark may set to false: the request then leaves them out (for
# servers that refuse fields they do not know, like trtllm-serve).
OPTIONAL_SAMPLING_KEYS = ("min_tokens", "temperature", "top_p", "top_k", "seed")
SERVICE_KEYS = (
    "command",
    "port",
    "model",
    "health_path",
    "ready_timeout_s",
    "env",
    "cwd",
    "forward",
    "host",
    "keep_running",
    "max_in_flight",
    "request_timeout_s",
    "return_token_ids",
    "simulated",
    "container",
)
# [benchmarks.NAME.container] / [services.NAME.container]
CONTAINER_KEYS = ("runtime", "image", "gpus", "mounts", "options")
FORWARD_MODES = ("auto", "ssh", "direct")
# Benchmark keys that are templates ({placeholder} filled per run).
TEMPLATE_FIELDS = ("command", "log_dir", "cwd", "user_conf", "shard_dataset", "accuracy_command")
# Placeholders only one template field offers (the accuracy step's accuracy log).
FIELD_PLACEHOLDERS = {"accuracy_command": ("accuracy_log",)}
ACCURACY_LEVELS = ("99", "99.9")
PROGRESS_STREAMS = ("stdout", "stderr", "both")
LOADGEN_SETTINGS = ("user_conf", "harness")
TRANSPORTS = ("local", "ssh", "slurm")
