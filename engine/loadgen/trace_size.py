"""How big LoadGen's trace (`mlperf_log_trace.json`) grows, to state it before a run turns it on.

The trace holds a few lines per completed sample, plus the IO thread's own events about every
10 ms (Wait/Gather/Process/FlushAll), whatever the load: a long run's trace is mostly the
latter. Measured with mlcommons-loadgen 6.0.17 by `bench/trace_size.py` (Server runs of 50 and
400 samples over about 10 s each, token latencies on; docs/performance.md has the figures):
about 1.45 KB per sample and 59 KB per second of run, i.e. about 215 MB an hour (measured
1,451 B and 59,130 B/s on a 2-core EPYC VM).
"""

TRACE_BYTES_PER_SAMPLE = 1_450
TRACE_BYTES_PER_S = 59_000
