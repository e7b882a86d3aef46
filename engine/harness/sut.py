"""The LoadGen SUT that simulates a GPU node, and the progress lines it prints.

LoadGen calls `issue_queries` from its own thread; the harness only books each sample onto the
node's slots (`node.SlotSchedule`) and pushes its completion time on a heap. One worker thread
sleeps until the earliest due time and then answers every due sample in one LoadGen call. Times
are absolute, so Python's own overhead does not slow the simulated node down, and nothing spins:
two harnesses on two busy cores keep their speeds.
"""

from __future__ import annotations

import heapq
import os
import sys
import threading
import time
from array import array
from collections.abc import Sequence
from io import TextIOBase

import mlperf_loadgen as lg

from engine.harness.demo_facts import progress_line
from engine.harness.node import SimulatedNode, SlotSchedule, splitmix64

# Events closer together than this are answered in one LoadGen call.
_BATCH_WINDOW_S = 0.0005
_FIRST_TOKEN = 0
_DONE = 1
# Fake output: this many token ids per sample when the node streams no tokens.
_DEFAULT_OUTPUT_IDS = 4
_VOCAB = 32000


def fake_output(dataset_index: int, count: int, seed: int) -> array:
    """The sample's simulated output as int64 values: the dataset index, then `count` token ids.

    Deterministic in the dataset index, so shards and reruns of the same samples log the same
    data in mlperf_log_accuracy.json and a reader can tell which dataset sample it was.
    """
    ids = [splitmix64((seed << 40) ^ (dataset_index << 12) ^ j) % _VOCAB for j in range(count)]
    return array("q", [dataset_index, *ids])


class ProgressReporter:
    """Prints `progress <completed>/<total> samples` lines, flushed, as samples complete.

    The total is what the harness expects LoadGen to issue; when a user.conf changed the run's
    length only LoadGen knows it, so it is read from the detail log's `generated_query_count`
    and `generated_samples_per_query` lines, and lines wait until it is known.
    """

    def __init__(
        self,
        total: int | None,
        every: int | None,
        detail_log: str,
        out: TextIOBase | None = None,
    ) -> None:
        self.total = total
        self._every_asked = every
        self._detail_log = detail_log
        self._out = out or sys.stdout
        self.completed = 0
        self._next_at = self._first_threshold()

    def _every(self) -> int:
        if self._every_asked is not None:
            return max(1, self._every_asked)
        return max(1, (self.total or 0) // 20)

    def _first_threshold(self) -> int | None:
        return self._every() if self.total is not None else None

    def _learn_total(self) -> None:
        total = total_from_detail_log(self._detail_log)
        if total is not None:
            self.total = total
            every = self._every()
            self._next_at = (self.completed // every + 1) * every

    def add(self, n: int) -> None:
        """Record `n` more completed samples; print a line when a multiple of N is crossed."""
        self.completed += n
        if self.total is None:
            self._learn_total()
            if self.total is None:
                return
        assert self._next_at is not None
        if self.completed >= self._next_at or self.completed == self.total:
            every = self._every()
            self._next_at = (self.completed // every + 1) * every
            try:
                self._out.write(progress_line(self.completed, self.total) + "\n")
                self._out.flush()
            except (OSError, ValueError):
                discard_stdout()


def discard_stdout() -> None:
    """Send stdout to /dev/null once its reader is gone (a closed pipe).

    The benchmark and its log files matter more than its console: without this, the next
    write, or Python's final flush, would raise BrokenPipeError and stop the run.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def total_from_detail_log(path: str) -> int | None:
    """Samples LoadGen generated, from its detail log, or None when not written yet."""
    queries = per_query = None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.endswith("\n"):
                    break  # LoadGen is still writing this line
                if '"generated_query_count"' in line:
                    queries = _mllog_int(line)
                elif '"generated_samples_per_query"' in line:
                    per_query = _mllog_int(line)
    except OSError:
        return None
    if queries is None or per_query is None:
        return None
    return queries * per_query


def _mllog_int(line: str) -> int | None:
    # `:::MLLOG {"key": "...", "value": 200, ...}`; the value is a plain integer here.
    start = line.find('"value":')
    if start < 0:
        return None
    digits = line[start + 8 :].lstrip().split(",", 1)[0].strip()
    return int(digits) if digits.isdigit() else None


class SimulatedSut:
    """Answers LoadGen's queries as the simulated node would."""

    def __init__(
        self,
        node: SimulatedNode,
        *,
        shard_start: int,
        token_latencies: bool,
        progress: ProgressReporter,
        crash_after: int | None = None,
    ) -> None:
        self._node = node
        self._shard_start = shard_start
        self._stream_tokens = token_latencies
        self._progress = progress
        self._crash_after = crash_after
        self._schedule = SlotSchedule(node)
        self._events: list[tuple[float, int, int, int, int]] = []
        self._order = 0  # tie-breaker so the heap never compares beyond the time
        self._cond = threading.Condition()
        self._stopping = False
        self._completed = 0
        self._thread = threading.Thread(target=self._answer, name="simulated-node", daemon=True)
        self._thread.start()

    def issue_queries(self, query_samples: Sequence[lg.QuerySample]) -> None:
        """LoadGen's IssueQuery: book the samples and return at once."""
        now = time.monotonic()
        with self._cond:
            for qs in query_samples:
                timing = self._schedule.admit(now)
                if self._stream_tokens:
                    self._push(timing.first_token, _FIRST_TOKEN, qs.id, qs.index)
                self._push(timing.done, _DONE, qs.id, qs.index)
            self._cond.notify()

    def flush_queries(self) -> None:
        """LoadGen's FlushQueries: nothing is held back, so nothing to flush."""

    def stop(self) -> None:
        """End the worker thread once LoadGen has finished."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join()

    def _push(self, when: float, kind: int, sample_id: int, index: int) -> None:
        self._order += 1
        heapq.heappush(self._events, (when, self._order, kind, sample_id, index))

    def _due(self) -> list[tuple[float, int, int, int, int]] | None:
        """Sleep until events are due and take them; None when stopping with nothing left."""
        with self._cond:
            while True:
                if self._events:
                    wait = self._events[0][0] - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                elif self._stopping:
                    return None
                else:
                    self._cond.wait()
            horizon = time.monotonic() + _BATCH_WINDOW_S
            due = []
            while self._events and self._events[0][0] <= horizon:
                due.append(heapq.heappop(self._events))
            return due

    def _answer(self) -> None:
        try:
            self._answer_until_stopped()
        except BaseException as e:
            # LoadGen waits forever for samples a dead SUT thread never completes; end the
            # process instead, leaving the incomplete logs as they are.
            try:
                sys.stderr.write(f"demo harness: error: the simulated node failed: {e!r}\n")
                sys.stderr.flush()
            finally:
                os._exit(1)

    def _answer_until_stopped(self) -> None:
        while (due := self._due()) is not None:
            firsts = [e for e in due if e[2] == _FIRST_TOKEN]
            dones = [e for e in due if e[2] == _DONE]
            if firsts:
                self._complete(firsts, first_token=True)
            if dones:
                crash = False
                if self._crash_after is not None:
                    left = self._crash_after - self._completed
                    if left <= len(dones):
                        dones, crash = dones[: max(0, left)], True
                self._complete(dones, first_token=False)
                self._completed += len(dones)
                self._progress.add(len(dones))
                if crash:
                    try:
                        sys.stdout.flush()
                    except (OSError, ValueError):
                        pass
                    sys.stderr.write(
                        f"demo harness: crashing on purpose after {self._completed} samples "
                        "(--crash-after)\n"
                    )
                    sys.stderr.flush()
                    os._exit(3)

    def _complete(self, events: list[tuple[float, int, int, int, int]], first_token: bool) -> None:
        node = self._node
        count = node.tokens if node.tokens > 0 else _DEFAULT_OUTPUT_IDS
        buffers = []
        responses = []
        for _, _, _, sample_id, index in events:
            data = fake_output(self._shard_start + index, 1 if first_token else count, node.seed)
            buffers.append(data)  # LoadGen copies the bytes during the call below
            address, length = data.buffer_info()
            size = length * data.itemsize
            if first_token or node.tokens == 0:
                responses.append(lg.QuerySampleResponse(sample_id, address, size))
            else:
                responses.append(lg.QuerySampleResponse(sample_id, address, size, node.tokens))
        if first_token:
            lg.FirstTokenComplete(responses)
        else:
            lg.QuerySamplesComplete(responses)
