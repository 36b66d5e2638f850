import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from tallyd_process import TALLYD_ENV, Tallyd, tallyd_path  # noqa: E402


@pytest.fixture
def tallyd():
    """A running tallyd (1-second windows); the test calls ``stop()`` for its snapshots."""
    binary = tallyd_path()
    if binary is None:
        if os.environ.get("TALLY_REQUIRE_TALLYD"):
            pytest.fail(f"${TALLYD_ENV} does not name an executable tallyd")
        pytest.skip(f"set ${TALLYD_ENV} to a tallyd binary")
    daemon = Tallyd(binary)
    try:
        yield daemon
    finally:
        daemon.kill()
