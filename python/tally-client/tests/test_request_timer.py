import time

from tally_client import RequestTimer


def test_marks_are_ordered_and_only_the_first_counts():
    timer = RequestTimer()
    wall = time.time_ns() // 1000
    assert abs(timer.event_time_us - wall) < 1_000_000
    time.sleep(0.01)
    timer.inference_started()
    time.sleep(0.01)
    timer.first_token()
    first = timer.ttft_us
    time.sleep(0.01)
    timer.first_token()  # a later chunk: ignored
    assert timer.ttft_us == first
    fields = timer.fields()
    assert set(fields) == {"event_time_us", "queue_time_us", "ttft_us", "total_latency_us"}
    assert 10_000 <= fields["queue_time_us"] < fields["ttft_us"] < fields["total_latency_us"]
    assert fields["ttft_us"] >= 20_000 and fields["total_latency_us"] >= 30_000
    assert timer.fields() == fields  # finished: frozen


def test_a_request_without_tokens_has_no_ttft():
    timer = RequestTimer()
    fields = timer.fields()
    assert fields["ttft_us"] is None and fields["queue_time_us"] == 0
    assert fields["total_latency_us"] >= 0
