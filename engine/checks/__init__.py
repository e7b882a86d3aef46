"""What mlconsole checks about a run beyond LoadGen's own verdict: the accuracy step's scores
against the round's targets (`accuracy`), the compliance tests' audit.config files and
verification (`compliance`), and the Server QPS search's steps (`qps_search`).

Pure data and arithmetic: no transport, no run, no console (the steps that run commands on
nodes live in `engine.run`)."""
