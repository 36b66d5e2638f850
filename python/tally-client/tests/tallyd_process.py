"""Runs a real tallyd on loopback for the tests: a temp config, a free TCP port, JSON
lines of every snapshot in a file, SIGTERM to drain and flush."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

TALLYD_ENV = "TALLY_TEST_TALLYD"


def tallyd_path():
    """The tallyd binary named by $TALLY_TEST_TALLYD, or None."""
    path = os.environ.get(TALLYD_ENV)
    return path if path and os.access(path, os.X_OK) else None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tallyd:
    """One tallyd process. ``endpoint`` takes frames; :meth:`stop` sends SIGTERM, waits
    for exit 0 and returns the snapshots (dicts) written as JSON lines."""

    def __init__(self, binary, window_seconds=1, allowed_lateness_seconds=2, extra_config=""):
        self.dir = tempfile.TemporaryDirectory(prefix="tallyd-py-")
        self.port = free_port()
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self.json_path = os.path.join(self.dir.name, "out.jsonl")
        config = os.path.join(self.dir.name, "tallyd.toml")
        with open(config, "w") as f:
            f.write(
                f'collector_id = "py-test"\n'
                f'endpoints = ["{self.endpoint}"]\n'
                f'pub_endpoint = ""\nreplay_endpoint = ""\nhttp_listen = ""\n'
                f"window_seconds = {window_seconds}\n"
                f"allowed_lateness_seconds = {allowed_lateness_seconds}\n"
                f'json_lines = "{self.json_path}"\n'
                f'data_directory = "{os.path.join(self.dir.name, "data")}"\n'
                f'fsync = "never"\nindex = false\n' + extra_config)
        self.log_path = os.path.join(self.dir.name, "tallyd.log")
        self._log = open(self.log_path, "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
        self.process = subprocess.Popen([binary, "--config", config], stdout=self._log,
                                        stderr=subprocess.STDOUT, env=env)
        self._wait_listening(10.0)

    def _wait_listening(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tallyd exited {self.process.returncode}: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("tallyd did not listen in time: " + self.log())

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, timeout=30.0):
        """SIGTERM, wait for a clean exit (tallyd drains and flushes) and read the
        snapshots. Raises when tallyd does not exit 0 in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise RuntimeError("tallyd did not stop in time: " + self.log())
        self._log.close()
        if self.process.returncode != 0:
            raise RuntimeError(f"tallyd exited {self.process.returncode}: {self.log()}")
        return self.snapshots()

    def snapshots(self):
        if not os.path.exists(self.json_path):
            return []
        with open(self.json_path) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        return [line for line in lines if "series" in line]

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self._log.closed:
            self._log.close()
        self.dir.cleanup()
