"""The rate limit of the SMTP sender (issue 14): a token bucket on an injected clock (no real waits),
also in front of a real SMTP server."""

from __future__ import annotations

from agent.actions.reminders import OutgoingDigest
from agent.notify.message import build_message
from agent.notify.rate import TokenBucket
from agent.notify.smtp import SmtpSender
from tests.actions.reminder_population import NOW, setup
from tests.notify.smtp_server import notifications


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


def test_the_smtp_sender_paces_its_messages_through_the_bucket(tmp_path, smtp_server):
    config = setup(tmp_path, notifications(smtp_server, rate_per_minute=2))
    time = FakeTime()
    bucket = TokenBucket(config.notifications.rate_per_minute, clock=time.clock, sleep=time.sleep)
    with SmtpSender(config.notifications, lambda digest: build_message(digest, config, NOW),
                    bucket=bucket) as sender:
        for number in range(4):
            sender.send(OutgoingDigest(f"s{number}", None, f"s{number}@test.example", ()))
    assert len(smtp_server.received) == 4
    assert time.slept == [30.0, 30.0]  # two at once, then one each 30 s (2 a minute)
