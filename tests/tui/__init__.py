"""The console: Textual pilot tests, SVG snapshots, and tmux against the real binary."""
