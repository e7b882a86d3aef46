"""The fleet QSL's data, read on the controller: one token-id prompt per sample.

A benchmark's `dataset` is a JSON list (MLCommons' `cnn_eval.json` for llama3.1-8b, whose
prompts exist only as Llama-3.1 token ids in `tok_input`, BOS included) or a JSONL file with one
record per line, or `synthetic` (deterministic prompts generated here, for the demo and the
tests). The first `count` records are the samples, as the reference harness's
`--total-sample-count` takes them.

Each prompt is kept as the JSON text of its id list, so building a request is a byte
concatenation (no per-query serialisation on the issue path).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import MlconsoleError

SYNTHETIC = "synthetic"
DEFAULT_PROMPT_FIELD = "tok_input"
# Synthetic prompts: lengths spread like short news articles, ids from a Llama-3-sized vocab.
_SYNTH_MIN, _SYNTH_MAX, _SYNTH_VOCAB, _BOS = 64, 512, 128000, 128000


class DatasetError(MlconsoleError):
    """A dataset file that cannot serve as the fleet's QSL; the sentence names the file,
    the record and the field."""

    exit_code = 2


@dataclass(frozen=True)
class Prompts:
    """`encoded[i]` is sample i's prompt as JSON bytes (`[128000, 791, ...]`)."""

    source: str
    field: str
    encoded: tuple[bytes, ...]
    token_counts: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.encoded)


def load_prompts(source: str, count: int, field: str = DEFAULT_PROMPT_FIELD) -> Prompts:
    """The first `count` prompts of `source` (a path, or "synthetic")."""
    if source == SYNTHETIC:
        return synthetic_prompts(count)
    path = Path(source).expanduser()
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DatasetError(
            f"dataset {source}: cannot read it ({err.strerror or err}); the benchmark's "
            "`dataset` names a file on the controller"
        ) from None
    records = _records(source, raw)
    if len(records) < count:
        raise DatasetError(
            f"dataset {source} has {len(records)} records, but the run asks for {count} samples"
        )
    encoded, counts = [], []
    for i, (line, record) in enumerate(records[:count]):
        ids = _prompt_ids(source, i, line, record, field)
        encoded.append(json.dumps(ids, separators=(",", ":")).encode())
        counts.append(len(ids))
    return Prompts(source, field, tuple(encoded), tuple(counts))


def _records(source: str, raw: bytes) -> list[tuple[int | None, Any]]:
    """(line number for JSONL, record) for every record of a JSON list or a JSONL file."""
    text = raw.decode("utf-8", "replace")
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise DatasetError(
                f"dataset {source}: not valid JSON at line {err.lineno}, column {err.colno} "
                f"({err.msg}); expected a JSON list of records or JSONL"
            ) from None
        return [(None, r) for r in data]
    out: list[tuple[int | None, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((number, json.loads(line)))
        except json.JSONDecodeError as err:
            raise DatasetError(
                f"dataset {source} line {number}: not a JSON record ({err.msg}); expected a "
                "JSON list of records or one JSON object per line (JSONL)"
            ) from None
    if not out:
        raise DatasetError(f"dataset {source} holds no records")
    return out


def _prompt_ids(source: str, i: int, line: int | None, record: Any, field: str) -> list[int]:
    where = f"dataset {source} record {i}" + (f" (line {line})" if line else "")
    expected = f'a "{field}" field holding the prompt as a non-empty list of token ids'
    if not isinstance(record, dict):
        raise DatasetError(
            f"{where} is {type(record).__name__}, not an object; expected {expected}"
        )
    if field not in record:
        present = ", ".join(sorted(record)[:6]) or "no fields"
        raise DatasetError(
            f'{where} has no "{field}" field (it has {present}); expected {expected}'
        )
    ids = record[field]
    if (
        not isinstance(ids, list)
        or not ids
        or not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in ids)
    ):
        raise DatasetError(f'{where}: "{field}" is not a list of token ids; expected {expected}')
    return ids


def synthetic_prompts(count: int, seed: int = 0) -> Prompts:
    """Deterministic prompts: BOS, then ids from a splitmix sequence, 64-512 tokens long."""
    from engine.harness.node import splitmix64

    encoded, counts = [], []
    for i in range(count):
        h = splitmix64((seed << 32) ^ i)
        length = _SYNTH_MIN + h % (_SYNTH_MAX - _SYNTH_MIN + 1)
        ids = [_BOS] + [splitmix64(h ^ j) % _SYNTH_VOCAB for j in range(1, length)]
        encoded.append(json.dumps(ids, separators=(",", ":")).encode())
        counts.append(length)
    return Prompts(SYNTHETIC, "generated", tuple(encoded), tuple(counts))
