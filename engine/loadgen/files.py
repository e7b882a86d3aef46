"""The names of LoadGen's own files in a run's log dir: one home for them.

LoadGen writes `<prefix>summary.txt`, `<prefix>detail.txt`, `<prefix>accuracy.json` and (when
tracing) `<prefix>trace.json`; the prefix is `mlperf_log_` unless a harness changes it.
"""

LOG_PREFIX = "mlperf_log_"
LOADGEN_SUMMARY_FILE = f"{LOG_PREFIX}summary.txt"
LOADGEN_DETAIL_FILE = f"{LOG_PREFIX}detail.txt"
LOADGEN_TRACE_FILE = f"{LOG_PREFIX}trace.json"
LOADGEN_ACCURACY_FILE = f"{LOG_PREFIX}accuracy.json"
