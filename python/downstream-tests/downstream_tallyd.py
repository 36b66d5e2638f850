"""A real tallyd for the downstream tests: frames in on loopback TCP, the data
directory, the PUB stream, the replay endpoint and JSON lines out, all in a temporary
directory. Restartable on the same data directory."""
import json
import os
import signal
import socket
import subprocess
import time

TALLYD_ENV = "TALLY_TEST_TALLYD"

#: US dollars per million tokens (input, cached input, output) of the priced model.
PRICES = {"priced-model": (3.0, 0.3, 15.0)}


def tallyd_path():
    path = os.environ.get(TALLYD_ENV)
    return path if path and os.access(path, os.X_OK) else None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tallyd:
    """One tallyd process over ``directory`` (a pytest tmp_path). :meth:`stop` sends
    SIGTERM and waits for exit 0; :meth:`restart` starts a new process on the same
    data directory and endpoints."""

    def __init__(self, binary, directory, collector_id="downstream", window_seconds=1,
                 allowed_lateness_seconds=1, index=False):
        self.binary, self.directory = binary, str(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.collector_id = collector_id
        self.endpoint = f"tcp://127.0.0.1:{free_port()}"
        self.pub_endpoint = f"tcp://127.0.0.1:{free_port()}"
        self.replay_endpoint = f"tcp://127.0.0.1:{free_port()}"
        self.data_directory = os.path.join(self.directory, "data")
        self.json_path = os.path.join(self.directory, "out.jsonl")
        self.config = os.path.join(self.directory, "tallyd.toml")
        lines = [f'collector_id = "{collector_id}"', f'endpoints = ["{self.endpoint}"]',
                 f'pub_endpoint = "{self.pub_endpoint}"', f'replay_endpoint = "{self.replay_endpoint}"',
                 'http_listen = ""', f"window_seconds = {window_seconds}",
                 f"allowed_lateness_seconds = {allowed_lateness_seconds}",
                 f'json_lines = "{self.json_path}"', f'data_directory = "{self.data_directory}"',
                 'fsync = "always"', f"index = {'true' if index else 'false'}"]
        for model, (input_price, cached_price, output_price) in PRICES.items():
            lines += [f'[prices."{model}"]', f"input = {input_price}", f"cached_input = {cached_price}",
                      f"output = {output_price}"]
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.runs = 0
        self.process = None
        self.start()

    def start(self):
        self.runs += 1
        self.log_path = os.path.join(self.directory, f"tallyd-{self.runs}.log")
        self._log = open(self.log_path, "wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
        self.process = subprocess.Popen([self.binary, "--config", self.config], stdout=self._log,
                                        stderr=subprocess.STDOUT, env=env)
        port = int(self.endpoint.rsplit(":", 1)[1])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tallyd exited {self.process.returncode}: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("tallyd did not listen in time: " + self.log())

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, timeout=30.0):
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

    def restart(self):
        self.stop()
        self.start()

    def json_lines(self):
        if not os.path.exists(self.json_path):
            return []
        with open(self.json_path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self._log.closed:
            self._log.close()
