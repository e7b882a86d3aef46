"""The bundled harness's accuracy script: scores a run's mlperf_log_accuracy.json.

    python -m engine.harness.score --accuracy-log DIR/mlperf_log_accuracy.json [--seed N]

It plays the part `evaluation.py` plays for a real benchmark, so the demo exercises the
accuracy step end to end. The simulated node answers each sample with its dataset index and
token ids that follow from that index and the harness's `--seed` (`sut.fake_output`); this
script recomputes them and prints, like the reference scripts, one dict:

    {'token_accuracy': 100.0, 'gen_len': 4160, 'gen_num': 130, 'tokens_per_sample': 32.0}

token_accuracy: percent of token ids that match (a sample answered for the wrong dataset
index counts all its ids wrong); gen_len: token ids generated; gen_num: samples scored;
tokens_per_sample: gen_len / gen_num. A score with a different `--seed` than the run's is
what a broken model looks like (token_accuracy near 0). Exit codes: 0 scored; 2 the log
cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from array import array

from engine.harness.sut import fake_output


def score(entries: list[dict], seed: int, shard_start: int) -> dict[str, float]:
    """The scores of the accuracy log's entries (LoadGen writes one per logged sample)."""
    matched = total = samples = 0
    for entry in entries:
        data = array("q")
        data.frombytes(bytes.fromhex(str(entry.get("data", ""))))
        if len(data) == 0:
            continue
        samples += 1
        ids = data[1:]
        total += len(ids)
        index = shard_start + int(entry.get("qsl_idx", -1))
        if data[0] != index:
            continue
        expected = fake_output(index, len(ids), seed)[1:]
        matched += sum(1 for a, b in zip(ids, expected, strict=True) if a == b)
    return {
        "token_accuracy": round(100.0 * matched / total, 4) if total else 0.0,
        "gen_len": total,
        "gen_num": samples,
        "tokens_per_sample": round(total / samples, 4) if samples else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m engine.harness.score", description=__doc__)
    p.add_argument("--accuracy-log", required=True, metavar="FILE")
    p.add_argument("--seed", type=int, default=0, help="the harness's --seed (default 0)")
    p.add_argument("--shard-start", type=int, default=0, help="the run's --shard-start")
    args = p.parse_args(argv)
    try:
        with open(args.accuracy_log, encoding="utf-8") as f:
            entries = json.load(f)
        if not isinstance(entries, list):
            raise ValueError("not a JSON list")
        scores = score(entries, args.seed, args.shard_start)
    except (OSError, ValueError) as e:
        sys.stderr.write(f"score: error: cannot read {args.accuracy_log}: {e}\n")
        return 2
    print("Results\n")
    print(scores)
    return 0


if __name__ == "__main__":
    sys.exit(main())
