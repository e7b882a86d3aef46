"""Markdown reports, rebuilt from recorded summaries alone: per run (`run`), the pipeline
report (`pipeline`) with its insight sentences (`insights`), number formatting (`format`);
`rebuild` holds the entry points."""
