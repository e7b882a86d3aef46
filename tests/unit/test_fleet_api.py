"""The OpenAI-compatible wire format as vLLM sends it: SSE framing, chunks, errors, the
request body, and the dataset reader's errors."""

from __future__ import annotations

import json

import pytest

from engine.fleet import api
from engine.fleet.dataset import DatasetError, load_prompts, synthetic_prompts
from engine.fleet.stats import RateMeter, percentile


def test_sse_events_split_anywhere_comments_and_crlf() -> None:
    stream = (
        b": ping\r\n\r\n"
        b'data: {"choices":[{"index":0,"text":"a","token_ids":[5]}]}\r\n\r\n'
        b"data: line1\ndata: line2\n\n"
        b"data: [DONE]\n\n"
    )
    whole = api.SseDecoder().feed(stream)
    d = api.SseDecoder()
    pieces = [e for i in range(len(stream)) for e in d.feed(stream[i : i + 1])]
    assert pieces == whole
    assert whole[1:] == ["line1\nline2", "[DONE]"]
    assert json.loads(whole[0])["choices"][0]["token_ids"] == [5]


def test_a_multibyte_character_split_across_reads_survives() -> None:
    raw = 'data: {"choices":[{"text":"é"}]}\n\n'.encode()
    cut = raw.index("é".encode()) + 1
    d = api.SseDecoder()
    events = d.feed(raw[:cut]) + d.feed(raw[cut:])
    assert api.parse_chunk(events[0]).text == "é"


def test_chunks_usage_and_errors_in_every_shape() -> None:
    out = api.parse_chunk('{"choices":[{"text":"","token_ids":[1,2],"finish_reason":"length"}]}')
    assert out.output and out.token_ids == (1, 2) and out.finish_reason == "length"
    usage = api.parse_chunk('{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":9}}')
    assert not usage.output and usage.usage_completion_tokens == 9
    nested = api.parse_chunk('{"error":{"message":"boom","type":"x","code":500}}')
    assert nested.error == "boom (code 500)"
    flat = api.parse_chunk('{"object":"error","message":"old","code":400}')
    assert flat.error == "old (code 400)"
    assert api.parse_chunk('{"error":"bad field"}').error == "bad field"
    with pytest.raises(api.NotApiError):
        api.parse_chunk("<html>")


def test_an_html_error_page_is_named_as_not_the_api() -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head></html>"
    assert "HTML page (502 Bad Gateway)" in api.error_body_message(page, "text/html")
    assert api.error_body_message(b'{"error":{"message":"m","code":404}}', "application/json") == (
        "m (code 404)"
    )


def test_the_request_sets_max_tokens_sampling_and_streamed_usage() -> None:
    body = json.loads(api.completion_body("llama", [128000, 5], api.Sampling(max_tokens=64)))
    assert body["prompt"] == [128000, 5] and body["model"] == "llama"
    assert body["max_tokens"] == 64 and body["temperature"] == 0.0
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["return_token_ids"] is True
    plain = json.loads(
        api.completion_body(None, [1], api.Sampling(return_token_ids=False, top_k=None))
    )
    assert "model" not in plain and "return_token_ids" not in plain and "top_k" not in plain


def test_dataset_json_list_and_jsonl_and_clear_errors(tmp_path) -> None:  # noqa: ANN001
    listed = tmp_path / "cnn.json"
    listed.write_text(
        json.dumps([{"tok_input": [128000, 1, 2]}, {"tok_input": [128000, 3]}], indent=4)
    )
    prompts = load_prompts(str(listed), 2)
    assert prompts.encoded == (b"[128000,1,2]", b"[128000,3]")
    lines = tmp_path / "data.jsonl"
    lines.write_text('{"tok_input": [1]}\n\n{"input": "text only"}\n')
    with pytest.raises(DatasetError, match=r'record 1 \(line 3\) has no "tok_input" field'):
        load_prompts(str(lines), 2)
    with pytest.raises(DatasetError, match="has 2 records, but the run asks for 5"):
        load_prompts(str(listed), 5)
    with pytest.raises(DatasetError, match="cannot read it"):
        load_prompts(str(tmp_path / "missing.json"), 1)
    bad = tmp_path / "bad.json"
    bad.write_text('[{"tok_input": "not ids"}]')
    with pytest.raises(DatasetError, match="is not a list of token ids"):
        load_prompts(str(bad), 1)
    assert synthetic_prompts(3).encoded == synthetic_prompts(3).encoded


def test_rate_meter_follows_a_slowdown_and_ignores_idle_time() -> None:
    m = RateMeter(tau_s=1.0)
    m.busy(0.0)
    for i in range(1, 101):
        m.add(i * 0.05, 100)  # 2000 tokens/s for 5 s
    assert m.rate == pytest.approx(2000, rel=0.05)
    m.idle(5.0)
    m.busy(50.0)  # 45 idle seconds change nothing
    assert m.rate == pytest.approx(2000, rel=0.05)
    for i in range(1, 101):
        m.add(50 + i * 0.1, 100)  # 1000 tokens/s for 10 s
    assert m.rate == pytest.approx(1000, rel=0.05)
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0 and percentile([], 90) is None
