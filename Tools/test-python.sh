#!/usr/bin/env bash
# Tests of the Python producer library (python/tally-client) and its FastAPI example.
# Installs what is missing (pip only), installs the package from the working tree, and
# runs pytest on python/. The tests that need a collector run the tallyd named by
# $TALLY_TEST_TALLYD (e.g. .build/release/tallyd); without it they fail, unless
# TALLY_PYTHON_ALLOW_SKIP=1, which lets them skip. Bounded: pytest-timeout per test,
# and the whole run under `timeout`.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

missing=()
for pair in zmq:pyzmq pytest:pytest pytest_timeout:pytest-timeout fastapi:fastapi httpx:httpx uvicorn:uvicorn \
        opentelemetry.sdk:opentelemetry-sdk opentelemetry.exporter.otlp.proto.http:opentelemetry-exporter-otlp-proto-http \
        jsonschema:jsonschema; do
    module=${pair%%:*}
    package=${pair#*:}
    "$PYTHON" -c "import $module" 2>/dev/null || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "test-python.sh: installing ${missing[*]}"
    "$PYTHON" -m pip install --quiet "${missing[@]}"
fi
"$PYTHON" -m pip install --quiet --force-reinstall --no-deps ./python/tally-client

if [ -z "${TALLY_PYTHON_ALLOW_SKIP:-}" ]; then
    export TALLY_REQUIRE_TALLYD=1
fi
export TALLY_TEST_TALLYD="${TALLY_TEST_TALLYD:-}"
# Run from python/ so that the tests import the installed package, not the source tree.
cd python
exec timeout 900 "$PYTHON" -m pytest -q
