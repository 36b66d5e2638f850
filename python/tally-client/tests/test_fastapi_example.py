"""python/examples/fastapi_streaming.py end to end: OpenAI-style streaming requests
through FastAPI's TestClient and through uvicorn on loopback, one frame each into a
real tallyd, TTFT measured at the first streamed chunk, a hang-up recorded as
cancelled."""
import importlib.util
import json
import os
import threading
import time

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from tallyd_process import free_port  # noqa: E402
from probes import PROBE_MODEL, wait_connected  # noqa: E402
from test_tallyd_decodes_exactly import connect  # noqa: E402

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


def test_under_uvicorn_a_client_that_goes_away_mid_stream_is_recorded_as_cancelled(tallyd, monkeypatch):
    uvicorn = pytest.importorskip("uvicorn")
    example = load_example()
    monkeypatch.setenv("TALLY_ENDPOINT", tallyd.endpoint)
    app = example.app_from_environment()  # its own client, closed by the app's lifespan
    tally = app.state.tally
    wait_connected(tally, time.time_ns() // 1000)
    probes = tally.counters.frames_recorded
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)
        body = {"model": "demo-7b", "stream": True,
                "messages": [{"role": "user", "content": "a long answer please"}]}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            with http.stream("POST", "/v1/chat/completions", json=body) as response:
                complete = [line for line in response.iter_lines() if line]
            assert complete[-1] == "data: [DONE]"
            with http.stream("POST", "/v1/chat/completions", json=body) as response:
                lines = response.iter_lines()
                while "content" not in next(lines):
                    pass  # up to the first token, then hang up
        # The server notices the hang-up at its next write and records the request.
        deadline = time.monotonic() + 10
        while tally.counters.frames_recorded < probes + 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        server.should_exit = True
        thread.join(20)
    assert not thread.is_alive()
    assert tally.closed, "the lifespan closed the client"
    counters = tally.counters
    assert counters.frames_recorded == counters.frames_sent == probes + 2  # complete, cancelled
    series = [s for snap in tallyd.stop() for s in snap["series"] if s["model"] == "demo-7b"]
    status = {name: sum(s["status"][name] for s in series) for name in ("ok", "cancelled")}
    assert status == {"ok": 1, "cancelled": 1}
    assert sum(s["output_tokens"]["sum"] for s in series) < 2 * len(example.REPLY)
    assert sum(s["ttft_us"]["count"] for s in series) == 2  # both streamed a first token
