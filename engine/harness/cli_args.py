"""Argument types the harness command lines share (`engine.harness.demo`,
`engine.harness.endpoint`): each turns bad input into argparse's one-line usage error, so a
wrong template flag exits 2 naming the flag and what it takes. Standard library only: these
programs run on nodes."""

from __future__ import annotations

import argparse
from collections.abc import Callable

_INF = float("inf")


def _float_where(name: str, ok: Callable[[float], bool], expected: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {expected}, got {text}")
        return value

    parse.__name__ = name  # argparse names the type in "invalid <name> value: ..."
    return parse


positive_float = _float_where("positive_float", lambda v: 0 < v < _INF, "a number > 0")
non_negative_float = _float_where("non_negative_float", lambda v: 0 <= v < _INF, "a number >= 0")
probability = _float_where("probability", lambda v: 0.0 <= v <= 1.0, "between 0 and 1")


def int_at_least(low: int) -> Callable[[str], int]:
    """An integer >= `low`."""

    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {text}")
        return value

    return parse
