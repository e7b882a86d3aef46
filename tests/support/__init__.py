"""Helpers that tests, bench/ and docs/ share: the sshd lab, config writer, results builder,
event codec, test doubles, paths."""
