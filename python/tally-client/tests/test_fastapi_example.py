"""python/examples/fastapi_streaming.py end to end: OpenAI-style streaming requests
through FastAPI's TestClient, one frame each into a real tallyd, TTFT measured at the
first streamed chunk."""
import importlib.util
import json
import os
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from test_tallyd_decodes_exactly import PROBE_MODEL, connect  # noqa: E402

pytestmark = pytest.mark.timeout(120)

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "fastapi_streaming.py")


def load_example():
    spec = importlib.util.spec_from_file_location("fastapi_streaming", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chat(http, stream, max_tokens=None, user="alice", tenant="acme"):
    body = {"model": "demo-7b", "stream": stream, "user": user,
            "messages": [{"role": "user", "content": "say something about tally"}]}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    headers = {"x-tenant": tenant, "x-session-id": f"s-{user}"}
    if not stream:
        response = http.post("/v1/chat/completions", json=body, headers=headers)
        assert response.status_code == 200
        return response.json()["choices"][0]["message"]["content"].split(" ")
    words = []
    with http.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    for line in lines[:-1]:
        chunk = json.loads(line.removeprefix("data: "))
        assert chunk["object"] == "chat.completion.chunk"
        words += chunk["choices"][0]["delta"].get("content", "").split()
    return words


def test_streaming_requests_are_recorded_with_ttft(tallyd):
    example = load_example()
    delay_s = 0.003
    tally = connect(tallyd, time.time_ns() // 1000)
    app = example.create_app(tally, token_delay_s=delay_s)
    streamed = 12
    with TestClient(app) as http:
        for i in range(streamed):
            words = chat(http, stream=True, user=f"user-{i % 4}")
            assert words == example.REPLY
        short = chat(http, stream=True, max_tokens=3, tenant="globex")
        assert short == example.REPLY[:3]
        whole = chat(http, stream=False, tenant="globex")
        assert whole == example.REPLY
    counters = tally.close(timeout=10)
    assert counters.frames_dropped == 0, counters
    snapshots = tallyd.stop()

    series = {}
    for snapshot in snapshots:
        for s in snapshot["series"]:
            if s["model"] != PROBE_MODEL:
                series.setdefault((s["tags"]["tenant"], s["tags"]["stream"]), []).append(s)
    assert set(series) == {("acme", "true"), ("globex", "true"), ("globex", "false")}
    acme = series[("acme", "true")]
    assert sum(s["requests"] for s in acme) == streamed
    for s in acme:
        assert (s["model"], s["model_version"], s["route"]) == ("demo-7b", "2026-11", "chat")
        assert s["status"]["ok"] == s["requests"]
        ttft, latency = s["ttft_us"], s["latency_us"]
        assert ttft["count"] == s["requests"]
        # TTFT at the first chunk: after one token delay, before the last token.
        assert ttft["min"] >= delay_s * 1e6
        assert ttft["max"] <= latency["max"]
        assert latency["min"] >= len(example.REPLY) * delay_s * 1e6
        n = len(example.REPLY)
        assert s["output_tokens"]["min"] == s["output_tokens"]["max"] == n
        assert s["input_tokens"]["min"] == s["input_tokens"]["max"] == 4  # words of the prompt
        assert 1 <= s["users"] <= 4 and 1 <= s["sessions"] <= 4  # user-0 ... user-3, hashed
    short_series = series[("globex", "true")]
    assert [s["output_tokens"]["sum"] for s in short_series] == [3]
    unstreamed = series[("globex", "false")][0]
    assert unstreamed["requests"] == 1 and unstreamed["ttft_us"]["count"] == 0
