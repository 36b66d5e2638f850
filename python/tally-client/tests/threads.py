"""Runs producer threads that start together."""
import threading


def run_together(count, produce):
    """Runs ``produce(n)`` for n in 0 ..< count on as many threads, released at once by
    a barrier, and waits for all of them."""
    start = threading.Barrier(count)

    def body(n):
        start.wait()
        produce(n)

    workers = [threading.Thread(target=body, args=(n,)) for n in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
