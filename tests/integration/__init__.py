"""Tests that start real things: the LoadGen harness, plans, loopback sshd, the CLI."""
