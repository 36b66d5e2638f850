"""Cost of TallyClient.record on one Python thread: microseconds per call and frames/s.

    python3 python/tally-client/bench/record_cost.py [--frames N] [--repeats R]

Two frame shapes: "minimal" (model and latency) and "typical" (model, version, route,
4 tags, tokens with cache reads, cache writes and reasoning tokens (format revision 1.1),
TTFT, status and a raw user id hashed by the client). Two collectors:
"absent" (nothing listens: batches are dropped, counted) and "draining" (a PULL socket
in a child process that reads and discards every batch, so batches are really sent).
Each figure is the median of R runs of N calls around the loop only: wall-clock time
(perf_counter) and CPU time of this process (process_time: every thread of it, not
the time it waited for a core, so it holds on a busy machine). The sender thread runs
concurrently and shares the GIL, so its cost (finishing and sending batches) is
included in both, as it is in a server. frames/s = N / CPU time.
"""
import argparse
import multiprocessing
import socket
import statistics
import time

import zmq

from tally_client import TallyClient


def drain(endpoint, ready):
    context = zmq.Context()
    pull = context.socket(zmq.PULL)
    pull.setsockopt(zmq.RCVHWM, 100_000)
    pull.bind(endpoint)
    ready.set()
    while True:
        pull.recv(copy=False)


def free_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def run(client, shape, frames):
    record = client.record
    now = time.time_ns() // 1000
    started, cpu_started = time.perf_counter(), time.process_time()
    if shape == "minimal":
        for i in range(frames):
            record(model="llama-3.1-70b", total_latency_us=1000 + (i & 1023), event_time_us=now)
    else:
        tags = {"tenant": "acme", "region": "eu-west", "plan": "pro", "lang": "en"}
        users = [f"user-{i}" for i in range(1000)]
        for i in range(frames):
            record(model="llama-3.1-70b", model_version="2026-11", route="chat", tags=tags,
                   total_latency_us=250_000 + (i & 1023), ttft_us=40_000, queue_time_us=500,
                   input_tokens=812, output_tokens=190, cached_input_tokens=512,
                   cache_creation_input_tokens=200, reasoning_output_tokens=64,
                   status="ok", user_id=users[i % 1000], event_time_us=now)
    return time.perf_counter() - started, time.process_time() - cpu_started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    ready = multiprocessing.Event()
    endpoint = free_endpoint()
    drainer = multiprocessing.Process(target=drain, args=(endpoint, ready), daemon=True)
    drainer.start()
    ready.wait(10)
    collectors = {"absent": free_endpoint(), "draining": endpoint}

    print(f"{'collector':<10} {'frame':<8} {'wall us':>8} {'CPU us':>7} {'frames/s':>9}"
          f"  {'CPU us, runs':<14} sent / dropped")
    for name, target in collectors.items():
        for shape in ("minimal", "typical"):
            client = TallyClient([target])
            if name == "draining":  # wait for the connection (ZMQ_IMMEDIATE drops until then)
                while client.counters.frames_sent == 0:
                    client.record(model="probe", total_latency_us=1)
                    client.flush(0.2)
            runs = [run(client, shape, args.frames) for _ in range(args.repeats)]
            counters = client.close(timeout=5)
            wall = statistics.median(r[0] for r in runs) / args.frames * 1e6
            cpu = sorted(r[1] / args.frames * 1e6 for r in runs)
            median_cpu = statistics.median(cpu)
            print(f"{name:<10} {shape:<8} {wall:>8.2f} {median_cpu:>7.2f} {1e6 / median_cpu:>9,.0f}"
                  f"  {cpu[0]:.2f}-{cpu[-1]:.2f}     {counters.frames_sent} / {counters.frames_dropped}")
    drainer.terminate()


if __name__ == "__main__":
    main()
