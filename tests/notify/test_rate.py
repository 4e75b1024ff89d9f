"""The rate limit of the SMTP sender (issue 14): a token bucket on an injected clock (no real waits)."""

from __future__ import annotations

from agent.notify.rate import TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_burst_of_the_rate_then_one_message_per_interval():
    time = FakeTime()
    bucket = TokenBucket(6, clock=time.clock, sleep=time.sleep)  # 6 a minute: one per 10 s after a burst
    assert [bucket.take() for _ in range(6)] == [0.0] * 6
    assert bucket.take() == 10.0
    assert bucket.take() == 10.0
    time.now += 25.0  # idle: tokens come back (two and a half)
    assert [bucket.take() for _ in range(2)] == [0.0, 0.0]
    assert bucket.take() == 5.0
    # Over any minute of this run, at most 6 + 6 messages left (a burst, then the rate).
    assert time.now - 1000.0 == 50.0
