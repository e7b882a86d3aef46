"""The log pane's text without a terminal: where a line wraps, what a search matches (vim's
smartcase), and how a line of a run's tail says it came from stderr or from a node."""

from __future__ import annotations

from console.tui.log_text import Match, case_sensitive, find_matches, log_line, wrap_spans
from console.tui.state import stderr_line


def test_wrap_cuts_at_the_width_and_keeps_every_character() -> None:
    text = "x" * 25
    assert wrap_spans(text, 10) == [(0, 10), (10, 20), (20, 25)]
    assert wrap_spans(text, 25) == [(0, 25)]
    assert wrap_spans("", 10) == [(0, 0)]


def test_wide_characters_take_two_cells() -> None:
    # Six wide characters are twelve cells: two rows of five cells' worth at width 5.
    spans = wrap_spans("日本語日本語", 5)
    assert spans == [(0, 2), (2, 4), (4, 6)]


def test_smartcase_search_finds_every_occurrence() -> None:
    lines = [log_line("Samples 3 samples"), log_line("none"), log_line("SAMPLES")]
    assert not case_sensitive("samples") and case_sensitive("Samples")
    assert find_matches(lines, "samples") == [Match(0, 0, 7), Match(0, 10, 17), Match(2, 0, 7)]
    assert find_matches(lines, "Samples") == [Match(0, 0, 7)]
    assert find_matches(lines, "") == []
    assert find_matches(lines[2:], "samples", first_index=2) == [Match(2, 0, 7)]


def test_a_tail_line_says_stderr_and_its_node() -> None:
    line = log_line(stderr_line("boom\tnow\x07"), "slow")
    assert line.stderr and line.prefix == "[slow] "
    assert line.shown == "[slow] [stderr] boom   now\ufffd"  # tab stops of 8 after the mark
    assert not log_line("fine").stderr
