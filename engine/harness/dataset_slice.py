"""Slice a dataset file for one shard of a parallel group, on the node.

    python dataset_slice.py SOURCE DEST START COUNT

For harnesses without a shard offset (the MLCommons reference `main.py` reads the first
`--total-sample-count` records of `--dataset-path`): records [START, START + COUNT) of SOURCE,
a JSON list (`cnn_eval.json`) or JSONL, are written to DEST in the same format, so the shard's
harness reads "the first COUNT records" and gets its own slice. Standard library only: the
orchestrator sends this file's text to the node's Python with `-c`, so the node needs no
mlconsole. Exit 2 with one sentence on stderr when the file cannot be sliced.
"""

import json
import os
import sys


def slice_file(source: str, dest: str, start: int, count: int) -> int:
    with open(source, "rb") as f:
        head = f.read(4096).lstrip()
    tmp = dest + ".tmp"
    if head.startswith(b"["):
        with open(source, encoding="utf-8") as f:
            records = json.load(f)
        if not isinstance(records, list):
            raise ValueError(f"{source} is not a JSON list")
        part = records[start : start + count]
        have = len(records)
        with open(tmp, "w", encoding="utf-8") as out:
            json.dump(part, out)
    else:
        part_n, have = 0, 0
        with open(source, encoding="utf-8") as f, open(tmp, "w", encoding="utf-8") as out:
            for line in f:
                if not line.strip():
                    continue
                if start <= have < start + count:
                    out.write(line if line.endswith("\n") else line + "\n")
                    part_n += 1
                have += 1
        part = range(part_n)
    if len(part) < count:
        os.remove(tmp)
        raise ValueError(
            f"{source} has {have} records; the shard needs records {start} to {start + count - 1}"
        )
    os.replace(tmp, dest)
    return len(part)


def main(argv: list[str]) -> int:
    try:
        source, dest, start, count = argv[0], argv[1], int(argv[2]), int(argv[3])
    except (IndexError, ValueError):
        sys.stderr.write("usage: dataset_slice.py SOURCE DEST START COUNT\n")
        return 2
    try:
        n = slice_file(source, dest, start, count)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        sys.stderr.write(f"cannot slice the dataset: {e}\n")
        return 2
    sys.stdout.write(f"{n} records [{start}, {start + count}) of {source} -> {dest}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
