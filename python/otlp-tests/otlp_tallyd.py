"""A real tallyd ($TALLY_TEST_TALLYD) with otlp_listen on a free loopback port, and the
OpenTelemetry SDK installed when missing (named apart from conftest: python/ has two)."""
import importlib
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "tally-client", "tests"))

from tallyd_process import TALLYD_ENV, Tallyd, free_port, tallyd_path  # noqa: E402

OTEL_PACKAGES = {"opentelemetry.sdk": "opentelemetry-sdk",
                 "opentelemetry.exporter.otlp.proto.http": "opentelemetry-exporter-otlp-proto-http"}
# Small, so that the 413 test needs no large body; the SDK's exports stay far below it.
MAX_BODY_BYTES = 65_536
#: The model the SDK test's spans answer with, and its price (US dollars per million tokens).
PRICED_MODEL = "gpt-4o-2024-08-06"
PRICE = {"input": 2.5, "cached_input": 1.25, "cache_write": 3.125, "output": 10.0, "reasoning": 12.0}


def expected_cost(inputs, outputs, reads, writes, reasoning):
    """SNAPSHOT.md's cost formula, computed in the collector's order of operations."""
    prompt = (inputs - reads - writes) * PRICE["input"] + reads * PRICE["cached_input"] + writes * PRICE["cache_write"]
    answer = (outputs - reasoning) * PRICE["output"] + reasoning * PRICE["reasoning"]
    return (prompt + answer) / 1_000_000


def ensure_opentelemetry():
    """Installs the OpenTelemetry SDK and its OTLP/HTTP exporter with pip when missing."""
    missing = []
    for module, package in OTEL_PACKAGES.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing], check=True, timeout=600)
        importlib.invalidate_caches()


class OTLPTallyd(Tallyd):
    """tallyd with OTLP/HTTP on ``otlp_url`` (…/v1/traces)."""

    def __init__(self, binary):
        self.otlp_port = free_port()
        super().__init__(binary, window_seconds=1, allowed_lateness_seconds=5, extra_config=(
            f'otlp_listen = "127.0.0.1:{self.otlp_port}"\n'
            f"otlp_max_body_bytes = {MAX_BODY_BYTES}\n"
            'otlp_tag_attributes = ["tenant=tenant.id", "provider=gen_ai.provider.name"]\n'
            # Priced the way providers bill: cache writes and reasoning at their own prices.
            f'[prices."{PRICED_MODEL}"]\n'
            + "".join(f"{name} = {value}\n" for name, value in PRICE.items())))
        self.otlp_url = f"http://127.0.0.1:{self.otlp_port}/v1/traces"
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.otlp_port), timeout=0.2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("OTLP listener not up: " + self.log())
                time.sleep(0.02)
