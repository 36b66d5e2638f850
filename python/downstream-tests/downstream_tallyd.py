"""A real tallyd for the downstream tests: frames in on loopback TCP, the data
directory, the PUB stream, the replay endpoint and JSON lines out, all in a temporary
directory. Restartable on the same data directory."""
import json
import os
import subprocess
import sys

# The binary's lookup and a free port, shared with the producer library's tests.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tally-client", "tests"))
import tallyd_process  # noqa: E402
from tallyd_process import TALLYD_ENV, free_port, tallyd_path  # noqa: E402,F401

#: US dollars per million tokens (input, cached input, output) of the priced model.
PRICES = {"priced-model": (3.0, 0.3, 15.0)}


class _KeptDirectory:
    """pytest removes tmp_path itself."""

    def __init__(self, name):
        self.name = name

    def cleanup(self):
        pass


class Tallyd(tallyd_process.Tallyd):
    """One tallyd process over ``directory`` (a pytest tmp_path), with every output on.
    :meth:`stop` (SIGTERM, wait for exit 0), :meth:`log` and :meth:`kill` are the
    producer tests' ones; :meth:`start` starts a new process on the same data directory
    and endpoints."""

    def __init__(self, binary, directory, collector_id="downstream", window_seconds=1,
                 allowed_lateness_seconds=1, index=False, future_tolerance_seconds=None,
                 extra_config=()):
        self.binary, self.directory = binary, str(directory)
        os.makedirs(self.directory, exist_ok=True)
        self.collector_id = collector_id
        self.dir = _KeptDirectory(self.directory)
        self.port = free_port()
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
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
        if future_tolerance_seconds is not None:
            lines.append(f"future_tolerance_seconds = {future_tolerance_seconds}")
        lines += list(extra_config)  # further top-level TOML lines, e.g. breakdown_keys
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
        self._wait_listening(15.0)

    def json_lines(self):
        if not os.path.exists(self.json_path):
            return []
        with open(self.json_path) as f:
            return [json.loads(line) for line in f if line.strip()]
