"""Bundled LoadGen harnesses.

`python -m engine.harness.demo` runs the real MLPerf LoadGen against a SUT that *simulates* a
GPU node (no model, no GPU). It depends only on the standard library and `mlperf_loadgen`, so
the package can run on any node that has LoadGen installed. Importing this package imports
nothing else: the harness is launched many times in tests and start-up time matters.
"""
