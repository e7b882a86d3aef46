"""The settings probe: what a node's own LoadGen will run, asked before launch."""
