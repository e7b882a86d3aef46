"""HTTP to one OpenAI-compatible endpoint: readiness probes and streamed completions.

aiohttp, chosen over httpx by measurement (docs/performance.md, `bench/fleet_clients.py`):
on two cores it sustained more streamed requests per second at less CPU per request, and its
per-chunk read adds less to time-to-first-token. One `ClientSession` per endpoint keeps its
own pool of keep-alive connections, with no cap on their number (a cap queues requests in
the client and inflates TTFT; the dispatcher bounds in-flight work instead), and an idle
keep-alive shorter than uvicorn's 5 s, so the client never reuses a socket the server is
about to close.

Every failure is an `EndpointFailure` whose `kind` says what happened (refused, an HTTP
status, not the API, a cut stream, an error event, a timeout); the dispatcher decides what
to do with it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

from engine.fleet import api

# Below uvicorn's (and so vLLM's) 5 s idle timeout: the client closes an idle socket first.
KEEPALIVE_S = 4.0


class EndpointFailure(Exception):
    """A request that did not produce a complete answer. `kind` is one of REFUSED, HTTP,
    NOT_API, CUT, STREAM_ERROR, TIMEOUT; `received` says whether any output arrived."""

    REFUSED = "refused"
    HTTP = "http_error"
    NOT_API = "not_api"
    CUT = "stream_cut"
    STREAM_ERROR = "stream_error"
    TIMEOUT = "timeout"
    KINDS = (REFUSED, HTTP, NOT_API, CUT, STREAM_ERROR, TIMEOUT)

    def __init__(self, kind: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.received = False


@dataclass
class StreamResult:
    """A completed streamed answer. Times are `time.monotonic()` seconds.

    `n_tokens` comes from the ids the chunks carried (`token_source` "token_ids"), else the
    final usage chunk ("usage"), else the number of output chunks ("chunks": a lower bound,
    since one chunk may carry several tokens).
    """

    token_ids: list[int] | None
    text: str
    n_tokens: int
    token_source: str
    usage_tokens: int | None
    finish_reason: str | None
    t_sent: float
    t_first: float
    t_end: float
    chunks: int


FirstToken = Callable[[float, api.Chunk], None]


class EndpointClient:
    """One endpoint at `base_url` (`http://host:port`, no trailing slash)."""

    def __init__(self, base_url: str, *, connect_timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.connect_timeout_s = connect_timeout_s
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=0, keepalive_timeout=KEEPALIVE_S, enable_cleanup_closed=False
            )
            timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout_s)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=timeout, auto_decompress=False
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def get(self, path: str, *, timeout_s: float = 5.0) -> tuple[int, bytes, str]:
        """(status, body, content type) of a GET; EndpointFailure(REFUSED/TIMEOUT) when the
        port does not answer."""
        session = self._open()
        try:
            async with asyncio.timeout(timeout_s):
                async with session.get(self.base_url + path) as resp:
                    return resp.status, await resp.read(), resp.headers.get("Content-Type", "")
        except TimeoutError:
            raise EndpointFailure(
                EndpointFailure.TIMEOUT, f"GET {path}: no answer within {timeout_s:g} s"
            ) from None
        except aiohttp.ClientError as exc:
            raise EndpointFailure(EndpointFailure.REFUSED, f"GET {path}: {_reason(exc)}") from None

    async def models(self, *, timeout_s: float = 5.0) -> list[str]:
        """The model ids `/v1/models` lists; EndpointFailure when it cannot say."""
        status, body, ctype = await self.get(api.MODELS_PATH, timeout_s=timeout_s)
        if status != 200:
            raise EndpointFailure(
                EndpointFailure.HTTP,
                f"GET {api.MODELS_PATH} answered {status}: {api.error_body_message(body, ctype)}",
                status=status,
            )
        try:
            return api.model_ids(body)
        except api.NotApiError as exc:
            raise EndpointFailure(
                EndpointFailure.NOT_API, f"GET {api.MODELS_PATH}: {exc}"
            ) from None

    async def complete(self, body: bytes, on_first: FirstToken | None = None) -> StreamResult:
        """POST one streaming completion and read it to `[DONE]`.

        `on_first(t, chunk)` is called once, at the first chunk with output, before the rest
        is read (that instant is the time to first token).
        """
        session = self._open()
        t_sent = time.monotonic()
        received = False
        try:
            async with session.post(
                self.base_url + api.COMPLETIONS_PATH,
                data=body,
                headers={"Content-Type": "application/json"},
            ) as resp:
                ctype = resp.headers.get("Content-Type", "")
                if resp.status != 200:
                    raw = await resp.read()
                    message = api.error_body_message(raw, ctype)
                    kind = (
                        EndpointFailure.NOT_API
                        if "json" not in ctype and "not the API" in message
                        else EndpointFailure.HTTP
                    )
                    raise EndpointFailure(
                        kind, f"HTTP {resp.status}: {message}", status=resp.status
                    )
                if api.EVENT_STREAM not in ctype:
                    raw = await resp.read()
                    raise EndpointFailure(
                        EndpointFailure.NOT_API,
                        f"a streamed completion came back as {api.describe_body(raw, ctype)}",
                    )
                return await _read_stream(resp, t_sent, on_first)
        except EndpointFailure as failure:
            failure.received = failure.received or received
            raise
        except aiohttp.ClientConnectorError as exc:
            raise EndpointFailure(EndpointFailure.REFUSED, _reason(exc)) from None
        except aiohttp.ServerDisconnectedError:
            raise EndpointFailure(
                EndpointFailure.CUT, "the server closed the connection before the answer ended"
            ) from None
        except (aiohttp.ClientPayloadError, aiohttp.ClientOSError) as exc:
            raise EndpointFailure(
                EndpointFailure.CUT, f"the stream broke: {_reason(exc)}"
            ) from None
        except aiohttp.ClientError as exc:
            raise EndpointFailure(EndpointFailure.CUT, _reason(exc)) from None


async def _read_stream(
    resp: aiohttp.ClientResponse, t_sent: float, on_first: FirstToken | None
) -> StreamResult:
    decoder = api.SseDecoder()
    ids: list[int] | None = []
    parts: list[str] = []
    chunks = 0
    usage: int | None = None
    finish: str | None = None
    t_first: float | None = None
    done = False
    async for raw in resp.content.iter_any():
        for data in decoder.feed(raw):
            if data == api.DONE:
                done = True
                break
            try:
                chunk = api.parse_chunk(data)
            except api.NotApiError as exc:
                failure = EndpointFailure(EndpointFailure.NOT_API, str(exc))
                failure.received = t_first is not None
                raise failure from None
            if chunk.error is not None:
                failure = EndpointFailure(
                    EndpointFailure.STREAM_ERROR, f"error event in the stream: {chunk.error}"
                )
                failure.received = t_first is not None
                raise failure
            if chunk.usage_completion_tokens is not None:
                usage = chunk.usage_completion_tokens
            if not chunk.output:
                continue
            chunks += 1
            if t_first is None:
                t_first = time.monotonic()
                if on_first is not None:
                    on_first(t_first, chunk)
            if ids is not None:
                if chunk.token_ids is None:
                    ids = None
                else:
                    ids.extend(chunk.token_ids)
            parts.append(chunk.text)
            if chunk.finish_reason is not None:
                finish = chunk.finish_reason
        if done:
            break
    t_end = time.monotonic()
    if not done:
        failure = EndpointFailure(EndpointFailure.CUT, "the stream ended without data: [DONE]")
        failure.received = t_first is not None
        raise failure
    if t_first is None:
        raise EndpointFailure(EndpointFailure.NOT_API, "the stream ended without any output")
    if ids:
        n, source = len(ids), "token_ids"
    elif usage is not None:
        n, source, ids = usage, "usage", None
    else:
        n, source, ids = chunks, "chunks", None
    return StreamResult(
        ids, "".join(parts), n, source, usage, finish, t_sent, t_first, t_end, chunks
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError):
        inner = exc.os_error
        return f"cannot connect to {exc.host}:{exc.port}: {inner.strerror or inner}"
    return str(exc) or type(exc).__name__
