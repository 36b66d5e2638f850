import importlib
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from downstream_tallyd import TALLYD_ENV, Tallyd, tallyd_path  # noqa: E402


@pytest.fixture
def start_tallyd(tmp_path):
    """Starts tallyd processes (keyword settings of ``Tallyd``) and kills any still running at the end."""
    binary = tallyd_path()
    if binary is None:
        if os.environ.get("TALLY_REQUIRE_TALLYD"):
            pytest.fail(f"${TALLYD_ENV} does not name an executable tallyd")
        pytest.skip(f"set ${TALLYD_ENV} to a tallyd binary")
    started = []

    def start(**settings):
        daemon = Tallyd(binary, tmp_path / f"tallyd-{len(started)}", **settings)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.kill()


@pytest.fixture(scope="session")
def jsonschema():
    """The jsonschema package, installed with pip when missing."""
    try:
        return importlib.import_module("jsonschema")
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "jsonschema"], check=True, timeout=300)
        importlib.invalidate_caches()
        return importlib.import_module("jsonschema")
