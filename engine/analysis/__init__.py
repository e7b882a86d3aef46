"""Figures over recorded results: polars frames (`frames`), PNG charts (`charts`) and the
markdown reports (`report/`). Reads results dirs only; never starts or follows a run."""
