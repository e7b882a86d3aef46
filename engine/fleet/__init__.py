"""Fleet runs: one LoadGen on the controller drives the OpenAI-compatible inference endpoints
of every node, so a multi-node run is one MLPerf result.

- `api`: the wire format of vLLM's OpenAI-compatible server (requests, SSE chunks, errors).
- `client`: HTTP streaming to one endpoint (aiohttp), faults as typed errors.
- `stats`: per-endpoint statistics and the measured rate the dispatcher weighs by.
- `dispatch`: the queue between LoadGen and the endpoints: least outstanding work relative to
  measured rate, bounded retries on another endpoint, one completion per query.
- `dataset`: the QSL's data on the controller (token-id prompts from JSON/JSONL, or generated).
- `settings`, `sut`: LoadGen's TestSettings and the SUT/QSL bridging LoadGen's threads and the
  event loop.
- `services`, `forward`: endpoint servers on nodes (launch, readiness, reuse, stop) over any
  transport, and how the controller reaches their ports.
- `stage`, `sweep`: a fleet run and a concurrency sweep as plan stages.
"""
