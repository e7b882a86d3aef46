"""The keys each config table accepts, in the order the config reference lists them.

One place for the schema's names: the reader refuses anything else (suggesting the closest),
warnings and the snapshot ask which keys only matter to SSH nodes.
"""

from __future__ import annotations

TOP_KEYS = ("settings", "nodes", "benchmarks", "plan")
SETTINGS_KEYS = (
    "results_dir",
    "reports_dir",
    "poll_interval_s",
    "stall_timeout_s",
    "telemetry_interval_s",
    "theme",
    "baseline_node",
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
)
NODE_KEYS = ("transport", *SSH_ONLY_KEYS, "workdir", "python", "env", "gpus", "vars", "simulated")
BENCHMARK_KEYS = (
    "command",
    "dataset_size",
    "scenario",
    "mode",
    "model",
    "log_dir",
    "cwd",
    "progress_pattern",
    "user_conf",
    "audit_config_intended",
    "stall_timeout_s",
    "supports_shards",
    "simulated",
)
# Benchmark keys that are templates ({placeholder} filled per run).
TEMPLATE_FIELDS = ("command", "log_dir", "cwd", "user_conf")
TRANSPORTS = ("local", "ssh")
