"""What the MLPerf submission checker would say about runs, and a submission written from them:
the rules of each round as data (`rules`), a run's eligibility (`eligibility`), the checker's
headline (`headline`) and the export (`export`). Depends on engine.loadgen only."""
