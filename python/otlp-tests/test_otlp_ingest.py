"""OTLP/HTTP ingest end to end: real clients (the OpenTelemetry Python SDK's OTLP/HTTP
exporter; hand-written JSON and bad bodies over urllib) against a real tallyd; the
snapshots (JSON lines) must hold exactly what was sent."""
import gzip
import json
import time
import urllib.error
import urllib.request
from collections import defaultdict

import pytest

from otlp_tallyd import MAX_BODY_BYTES, expected_cost


def post(url, body, content_type, encoding=None):
    headers = {"Content-Type": content_type}
    if encoding:
        headers["Content-Encoding"] = encoding
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def merged_series(snapshots):
    """Per (model, model_version, route, ring, tags): requests and token/latency digests
    (count, min, max, sum) merged over every window."""
    merged = {}
    for snapshot in snapshots:
        for s in snapshot["series"]:
            key = (s["model"], s["model_version"], s["route"], s["ring"], tuple(sorted(s["tags"].items())))
            m = merged.setdefault(key, {"requests": 0, "status": defaultdict(int), "error_classes": defaultdict(int),
                                        "cached_input_tokens": 0, "refusals": 0})
            m["requests"] += s["requests"]
            m["cached_input_tokens"] += s["cached_input_tokens"]
            m["refusals"] += s["refusals"]
            for name, count in s["status"].items():
                m["status"][name] += count
            for name, count in s["error_classes"].items():
                m["error_classes"][name] += count
            for field in ("latency_us", "ttft_us", "input_tokens", "output_tokens", "cost_usd"):
                d = s[field]
                acc = m.setdefault(field, {"count": 0})
                if d["count"] == 0:
                    continue
                if acc["count"] == 0:
                    acc.update(min=d["min"], max=d["max"], sum=0)
                acc["count"] += d["count"]
                acc["min"] = min(acc["min"], d["min"])
                acc["max"] = max(acc["max"], d["max"])
                acc["sum"] += d["sum"]
    return merged


def digest(values):
    return {"count": len(values), "min": min(values), "max": max(values), "sum": sum(values)} if values else {"count": 0}


@pytest.mark.timeout(180)
@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_sdk_exporter_genai_spans_land_exactly(otlp_tallyd, opentelemetry, compression):
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporter = OTLPSpanExporter(endpoint=otlp_tallyd.otlp_url,
                                compression=Compression.Gzip if compression == "gzip" else Compression.NoCompression)
    provider = TracerProvider(resource=Resource.create(
        {"service.name": "gateway", "service.version": "2024-06-01", "tenant.id": "acme", "tally.ring": "canary"}))
    provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=16))
    tracer = provider.get_tracer("otlp-tests")

    sent = []
    now = time.time_ns()
    for i in range(40):
        latency_us = 100_000 + 997 * i
        ttft_us = 20_000 + 13 * i
        inputs, outputs, cached = 50 + i, 7 + 2 * i, i % 5
        writes, reasoning = 3 * (i % 4), i % 3
        failed = i % 10 == 9
        attributes = {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06",
            "gen_ai.usage.input_tokens": inputs, "gen_ai.usage.output_tokens": outputs,
            "gen_ai.usage.cache_read.input_tokens": cached,
            "gen_ai.usage.cache_creation.input_tokens": writes,
            "gen_ai.usage.reasoning.output_tokens": reasoning,
            "gen_ai.response.time_to_first_chunk": ttft_us / 1e6,
            "gen_ai.response.finish_reasons": ["content_filter" if i % 8 == 0 else "stop"],
            "gen_ai.conversation.id": f"conv-{i % 3}",
        }
        if failed:
            attributes["error.type"] = "timeout"
        start = now + i * 1_000
        span = tracer.start_span("chat gpt-4o", start_time=start, attributes=attributes)
        span.end(end_time=start + latency_us * 1_000)
        sent.append(dict(latency_us=latency_us, ttft_us=ttft_us, inputs=inputs, outputs=outputs, cached=cached,
                         failed=failed, refusal=i % 8 == 0,
                         cost=expected_cost(inputs, outputs, cached, writes, reasoning)))
    # A span without GenAI attributes: skipped, counted.
    tracer.start_span("GET /health", attributes={"http.request.method": "GET"}).end()
    assert provider.force_flush(30_000)
    provider.shutdown()

    snapshots = otlp_tallyd.stop()
    series = merged_series(snapshots)
    key = ("gpt-4o-2024-08-06", "2024-06-01", "chat", "canary", (("provider", "openai"), ("tenant", "acme")))
    assert list(series) == [key], series.keys()
    got = series[key]
    assert got["requests"] == len(sent)
    assert got["latency_us"] == digest([s["latency_us"] for s in sent])
    assert got["ttft_us"] == digest([s["ttft_us"] for s in sent])
    assert got["input_tokens"] == digest([s["inputs"] for s in sent])
    assert got["output_tokens"] == digest([s["outputs"] for s in sent])
    assert got["cached_input_tokens"] == sum(s["cached"] for s in sent)
    # Cache reads, cache writes and reasoning each at their price (hand formula, SNAPSHOT.md "Cost").
    costs = [s["cost"] for s in sent]
    assert got["cost_usd"]["count"] == len(sent)
    assert got["cost_usd"]["min"] == pytest.approx(min(costs), rel=1e-12)
    assert got["cost_usd"]["max"] == pytest.approx(max(costs), rel=1e-12)
    assert got["cost_usd"]["sum"] == pytest.approx(sum(costs), rel=1e-12)
    assert got["refusals"] == sum(1 for s in sent if s["refusal"])
    assert got["status"]["timeout"] == sum(1 for s in sent if s["failed"])
    assert got["status"]["ok"] == sum(1 for s in sent if not s["failed"])
    assert dict(got["error_classes"]) == {"timeout": sum(1 for s in sent if s["failed"])}
    counters = snapshots[-1]["counters"]
    assert counters["otlp.spans"] == len(sent) + 1
    assert counters["otlp.frames"] == len(sent)
    assert counters["otlp.skipped.not_gen_ai"] == 1
    assert counters["otlp.refused.bad_data"] == 0


@pytest.mark.timeout(120)
def test_json_export_as_the_spec_writes_it(otlp_tallyd):
    now = time.time_ns()

    def span(i, attributes, latency_us):
        return {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": f"{i:016x}", "kind": 3,
                "name": "chat", "startTimeUnixNano": str(now + i), "endTimeUnixNano": str(now + i + latency_us * 1_000),
                "attributes": attributes, "status": {"code": 0}}

    def attr(key, value):
        if isinstance(value, str):
            return {"key": key, "value": {"stringValue": value}}
        if isinstance(value, float):
            return {"key": key, "value": {"doubleValue": value}}
        return {"key": key, "value": {"intValue": str(value)}}

    # vLLM's older names: prompt/completion tokens, latencies in seconds, gen_ai.system.
    vllm = [span(i, [attr("gen_ai.system", "vllm"), attr("gen_ai.request.model", "llama-3.1-8b"),
                     attr("gen_ai.usage.prompt_tokens", 10 + i), attr("gen_ai.usage.completion_tokens", 20 + i),
                     attr("gen_ai.latency.time_in_queue", 0.002), attr("gen_ai.latency.time_to_first_token", 0.05),
                     attr("gen_ai.latency.e2e", 0.25 + i / 1000)], 400_000) for i in range(5)]
    bad = span(9, [attr("gen_ai.request.model", "llama-3.1-8b"), attr("gen_ai.usage.input_tokens", -3)], 1_000)
    body = {"resourceSpans": [{
        "resource": {"attributes": [attr("service.version", "v3"), attr("tenant.id", "globex")]},
        "scopeSpans": [{"scope": {"name": "vllm"}, "spans": vllm + [bad]}]}]}
    status, response = post(otlp_tallyd.otlp_url, json.dumps(body).encode(), "application/json")
    assert status == 200, response
    partial = json.loads(response)["partialSuccess"]
    assert partial["rejectedSpans"] == "1"
    assert "tokens_out_of_range" in partial["errorMessage"]

    snapshots = otlp_tallyd.stop()
    series = merged_series(snapshots)
    key = ("llama-3.1-8b", "v3", "", "stable", (("provider", "vllm"), ("tenant", "globex")))
    assert list(series) == [key]
    got = series[key]
    assert got["requests"] == 5
    assert got["latency_us"] == digest([250_000 + i * 1_000 for i in range(5)])
    assert got["ttft_us"] == digest([50_000] * 5)
    assert got["input_tokens"] == digest([10 + i for i in range(5)])
    assert got["output_tokens"] == digest([20 + i for i in range(5)])
    assert snapshots[-1]["counters"]["otlp.rejected.tokens_out_of_range"] == 1


@pytest.mark.timeout(120)
def test_malformed_bodies_get_400_and_are_counted_over_limit_413(otlp_tallyd):
    url = otlp_tallyd.otlp_url
    # Field 1 (resource_spans), length 100, 3 bytes present: truncated protobuf.
    assert post(url, b"\x0a\x64\x01\x02\x03", "application/x-protobuf")[0] == 400
    status, body = post(url, b"{not json", "application/json")
    assert status == 400 and json.loads(body)["code"] == 3
    assert post(url, b"not gzip at all", "application/x-protobuf", encoding="gzip")[0] == 400
    assert post(url, b"{}", "text/plain")[0] == 415
    assert post(url, b"\x00" * (MAX_BODY_BYTES + 1), "application/x-protobuf")[0] == 413
    # A small gzip body that inflates past the limit: 413 too.
    assert post(url, gzip.compress(b"\x00" * (MAX_BODY_BYTES * 4)), "application/x-protobuf", encoding="gzip")[0] == 413
    # An empty export is fine.
    assert post(url, b"", "application/x-protobuf") == (200, b"")
    # One valid span last, so that a window (and a snapshot with the counters) exists.
    now = time.time_ns()
    valid = {"resourceSpans": [{"scopeSpans": [{"spans": [{
        "name": "chat", "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 5_000_000),
        "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "m"}}]}]}]}]}
    assert post(url, json.dumps(valid).encode(), "application/json") == (200, b"{}")

    snapshots = otlp_tallyd.stop()
    counters = snapshots[-1]["counters"] if snapshots else {}
    if not counters:
        pytest.fail("no snapshot with counters: " + otlp_tallyd.log())
    assert counters["otlp.requests"] == 8
    assert counters["otlp.refused.bad_data"] == 2
    assert counters["otlp.bad_data.truncated"] == 1
    assert counters["otlp.bad_data.bad_json"] == 1
    assert counters["otlp.refused.bad_gzip"] == 1
    assert counters["otlp.refused.unsupported_media_type"] == 1
    assert counters["otlp.refused.too_large"] == 2
    assert counters["otlp.frames"] == 1
    assert sum(s["requests"] for snapshot in snapshots for s in snapshot["series"]) == 1
