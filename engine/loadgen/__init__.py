"""Readers for MLPerf LoadGen's files (summary, detail, accuracy and trace logs), a user.conf
checker, and live-progress readers. Pure Python; no heavy imports."""

from engine.loadgen.parse import (
    AccuracyLog,
    DetailEntry,
    DetailLog,
    Metric,
    Problem,
    RunLogs,
    Summary,
    parse_accuracy,
    parse_detail,
    parse_summary,
    read_run_logs,
    validity_reasons,
)
from engine.loadgen.progress import (
    AccuracyProgress,
    DetailProgress,
    TraceProgress,
    progress_from_stdout,
)
from engine.loadgen.userconf import check_user_conf, loadgen_rejects

__all__ = [
    "AccuracyLog",
    "AccuracyProgress",
    "DetailEntry",
    "DetailLog",
    "DetailProgress",
    "Metric",
    "Problem",
    "RunLogs",
    "Summary",
    "TraceProgress",
    "check_user_conf",
    "loadgen_rejects",
    "parse_accuracy",
    "parse_detail",
    "parse_summary",
    "progress_from_stdout",
    "read_run_logs",
    "validity_reasons",
]
