"""Fixtures of the OTLP/HTTP ingest tests (helpers in otlp_tallyd.py)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from otlp_tallyd import TALLYD_ENV, OTLPTallyd, ensure_opentelemetry, tallyd_path  # noqa: E402


@pytest.fixture
def otlp_tallyd():
    binary = tallyd_path()
    if binary is None:
        if os.environ.get("TALLY_REQUIRE_TALLYD"):
            pytest.fail(f"${TALLYD_ENV} does not name an executable tallyd")
        pytest.skip(f"set ${TALLYD_ENV} to a tallyd binary")
    daemon = OTLPTallyd(binary)
    try:
        yield daemon
    finally:
        daemon.kill()


@pytest.fixture(scope="session")
def opentelemetry():
    ensure_opentelemetry()
