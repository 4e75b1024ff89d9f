"""The lease: pure decisions, the keeper on a fake clock, races between two holders, and the service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agent.actions.lease import InMemoryLeaseStore, LeaseKeeper
from agent.core.errors import DirectoryUnavailable
from agent.core.lease import LeaseAction, LeaseState, decide_lease
from agent.service.jobs import JobSummary
from agent.service.service import Service
from agent.settings.config import ConfigError
from tests.service.conftest import (
    FakeDirectory,
    FakeJobFactory,
    ServiceThread,
    fast_timetable,
    make_config,
    wait_until,
)
from tests.service.racing import race

NOW = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)
PERIOD = timedelta(seconds=60)
LEASE_DN = "cn=hwb-agent-lease,ou=services,dc=example,dc=org"


class FakeClock:
    def __init__(self, now: datetime = NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# --- the pure decision -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holder", "expiry", "action"),
    [
        (None, None, LeaseAction.TAKE),  # never taken
        ("host-b", NOW - timedelta(seconds=1), LeaseAction.TAKE),  # the holder died
        ("host-b", NOW, LeaseAction.TAKE),  # expiry is exclusive
        ("host-b", NOW + timedelta(seconds=1), LeaseAction.STANDBY),
        ("host-a", NOW + timedelta(seconds=50), LeaseAction.HOLD),  # mine, plenty left
        ("host-a", NOW + timedelta(seconds=30), LeaseAction.RENEW),  # mine, half gone
        ("host-a", NOW - timedelta(seconds=5), LeaseAction.RENEW),  # mine, lapsed, nobody took it
        ("host-b", None, LeaseAction.TAKE),  # unreadable expiry: nobody validly holds it
    ],
)
def test_the_decision_from_holder_expiry_me_and_now(holder, expiry, action):
    decision = decide_lease(LeaseState(holder, expiry), "host-a", NOW, PERIOD)
    assert decision.action is action
    if action in (LeaseAction.TAKE, LeaseAction.RENEW):
        assert decision.new == LeaseState("host-a", NOW + PERIOD)
    else:
        assert decision.new is None


def test_the_new_expiry_is_whole_seconds_because_generalized_time_stores_seconds():
    decision = decide_lease(LeaseState(None, None), "host-a", NOW.replace(microsecond=987_654), PERIOD)
    assert decision.new.expiry == NOW + PERIOD


# --- the keeper --------------------------------------------------------------------------------


def test_a_keeper_takes_a_free_lease_holds_renews_and_stops_acting_before_expiry():
    clock, store = FakeClock(), InMemoryLeaseStore()
    keeper = LeaseKeeper(store, "host-a", PERIOD, clock=clock)
    assert keeper.refresh() is True
    assert store.state == LeaseState("host-a", NOW + PERIOD)

    clock.advance(20)
    assert keeper.refresh() is True and store.swaps == 1  # HOLD: nothing written
    clock.advance(15)
    assert keeper.renewal_due()
    assert keeper.refresh() is True and store.state.expiry == NOW + timedelta(seconds=95)

    # Cut off from the directory, the keeper acts only until a quarter period before expiry.
    clock.advance(44)
    assert keeper.holds()
    clock.advance(2)
    assert not keeper.holds()


def test_a_keeper_keeps_its_lease_through_a_short_outage_and_lets_it_lapse_after():
    clock, store = FakeClock(), InMemoryLeaseStore()
    keeper = LeaseKeeper(store, "host-a", PERIOD, clock=clock)
    keeper.refresh()

    def down():
        raise DirectoryUnavailable("connection refused")

    store.read = down
    clock.advance(31)
    assert keeper.refresh() is True  # renewal failed, but 29 s of a valid lease remain
    clock.advance(15)
    assert keeper.refresh() is False


def test_a_standby_takes_over_once_the_dead_holders_lease_expires():
    clock, store = FakeClock(), InMemoryLeaseStore()
    holder = LeaseKeeper(store, "host-a", PERIOD, clock=clock)
    standby = LeaseKeeper(store, "host-b", PERIOD, clock=clock)
    assert holder.refresh() and not standby.refresh()
    assert standby.seen_holder == "host-a"

    # host-a dies here: it never renews again.
    clock.advance(59)
    assert not standby.refresh()
    clock.advance(1)
    assert standby.refresh()
    assert store.state == LeaseState("host-b", clock.now + PERIOD)
    # Had host-a survived without renewing, it stopped acting 15 s before host-b could start.
    assert not holder.holds()


def test_a_released_lease_is_taken_at_once():
    clock, store = FakeClock(), InMemoryLeaseStore()
    holder = LeaseKeeper(store, "host-a", PERIOD, clock=clock)
    standby = LeaseKeeper(store, "host-b", PERIOD, clock=clock)
    holder.refresh()
    holder.release()
    assert not holder.holds()
    assert standby.refresh()


class RacingStore(InMemoryLeaseStore):
    """Lets a rival act between one keeper's read and its swap: the race the LDAP modify settles."""

    def __init__(self):
        super().__init__()
        self.between_read_and_swap = None

    def read(self):
        state = super().read()
        rival, self.between_read_and_swap = self.between_read_and_swap, None
        if rival is not None:
            rival()
        return state


def test_two_standbys_racing_for_an_expired_lease_exactly_one_wins():
    clock = FakeClock()
    store = RacingStore()
    store.state = LeaseState("host-dead", NOW - timedelta(seconds=1))
    first = LeaseKeeper(store, "host-a", PERIOD, clock=clock)
    second = LeaseKeeper(store, "host-b", PERIOD, clock=clock)

    # host-a reads the expired lease; before its swap lands, host-b reads, decides and swaps.
    store.between_read_and_swap = second.refresh
    assert first.refresh() is False  # its swap named the old values, which were gone
    assert second.holds()
    assert store.state.holder == "host-b"
    assert store.swaps == 1


def test_many_threads_racing_for_a_free_lease_leave_one_holder():
    store = InMemoryLeaseStore()
    keepers = [LeaseKeeper(store, f"host-{index}", PERIOD, clock=FakeClock()) for index in range(8)]
    results = race(keepers)
    winners = [name for name, held in results.items() if held]
    assert len(winners) == 1
    assert store.state.holder == winners[0]
    assert store.swaps == 1


# --- the service acts only while it holds the lease --------------------------------------------


def lease_service(factory: FakeJobFactory, store: InMemoryLeaseStore, holder: str) -> Service:
    lease = {"enabled": True, "holder": holder, "period_seconds": 4, "dn": LEASE_DN}
    config = make_config(service={"lease": lease})
    return Service(
        lambda: config,
        factory,
        make_lease_store=lambda _config: store,
        timetable=fast_timetable(sweep_interval=0.2, poll=0.05, lease_period=4),
        tick_seconds=0.05,
        install_signal_handlers=False,
    )


def test_of_two_services_on_one_authority_only_the_holder_acts_and_stopping_it_hands_over():
    directory, store = FakeDirectory(), InMemoryLeaseStore()
    factory_a, factory_b = FakeJobFactory(directory, "a"), FakeJobFactory(directory, "b")
    first = ServiceThread(lease_service(factory_a, store, "host-a")).__enter__()
    try:
        wait_until(lambda: directory.count("sweep", "a") >= 1, "host-a to sweep")
        with ServiceThread(lease_service(factory_b, store, "host-b")) as second:
            wait_until(lambda: directory.count("sweep", "a") >= 4, "host-a to go on sweeping")
            assert directory.count("sweep", "b") == directory.count("poll", "b") == 0
            assert second.service.metrics.lease_held._value.get() == 0
            assert second.service.metrics.health()[0]  # a standby is healthy

            first.stop()  # releases the lease on its way out
            calls_by_a = directory.count("sweep", "a") + directory.count("poll", "a")
            wait_until(lambda: directory.count("sweep", "b") >= 1, "host-b to take over and sweep")
            assert store.read().holder == "host-b"
            assert directory.count("sweep", "a") + directory.count("poll", "a") == calls_by_a
    finally:
        first.stop()
    # Every call by host-b came after the last call by host-a: never two acting at once.
    owners = [owner for owner, _method in directory.calls]
    assert owners == sorted(owners)


class StolenLeaseJob:
    """A sweep during which another host takes the lease (after this one's clock ran past expiry)."""

    def __init__(self, service: Service, store: InMemoryLeaseStore, clock: FakeClock):
        self.service, self.store, self.clock = service, store, clock
        self.entries_done = 0

    def sweep(self) -> JobSummary:
        for _entry in range(1000):
            if self.service.should_stop():
                return JobSummary(scanned=self.entries_done, interrupted=True)
            self.entries_done += 1
            if self.entries_done == 3:
                self.clock.advance(120)  # this host stalled: its lease lapsed...
                self.store.state = LeaseState("host-b", self.clock.now + PERIOD)  # ...and host-b took it
        return JobSummary(scanned=self.entries_done)

    def poll_activation_requests(self) -> JobSummary:
        return JobSummary()


def test_a_sweep_stops_between_two_entries_when_the_lease_is_lost():
    clock, store = FakeClock(), InMemoryLeaseStore()
    lease = {"enabled": True, "holder": "host-a", "period_seconds": 60, "dn": LEASE_DN}
    config = make_config(service={"lease": lease})
    jobs: list[StolenLeaseJob] = []
    service = Service(
        lambda: config,
        lambda _config: jobs.append(StolenLeaseJob(service, store, clock)) or jobs[-1],
        make_lease_store=lambda _config: store,
        timetable=fast_timetable(sweep_interval=600, poll=600, lease_period=60),
        lease_clock=clock,
        tick_seconds=0.05,
        install_signal_handlers=False,
    )
    with ServiceThread(service):
        wait_until(lambda: bool(jobs) and jobs[0].entries_done >= 3, "the sweep to run")
        wait_until(lambda: service.lease is not None and not service.lease.holds(), "the loss to be seen")
    assert jobs[0].entries_done == 3
    assert store.state.holder == "host-b"  # the stopped holder did not write over the new one


def test_a_lease_without_a_store_is_a_configuration_error(factory):
    config = make_config(service={"lease": {"enabled": True, "dn": LEASE_DN}})
    service = Service(lambda: config, factory, install_signal_handlers=False)
    with pytest.raises(ConfigError, match="service.lease.enabled"):
        service.run()


def test_a_standby_that_takes_over_from_a_dead_holder_sweeps_at_once_not_an_interval_later():
    # host-a died holding the lease: nobody releases it; host-b must finish host-a's sweep itself.
    clock, store = FakeClock(), InMemoryLeaseStore()
    store.state = LeaseState("host-a", clock.now + timedelta(seconds=2))
    lease = {"enabled": True, "holder": "host-b", "period_seconds": 4, "dn": LEASE_DN}
    config = make_config(service={"lease": lease})
    factory = FakeJobFactory()
    service = Service(
        lambda: config, factory, make_lease_store=lambda _config: store,
        timetable=fast_timetable(sweep_interval=600, poll=600, lease_period=4),
        lease_clock=clock, tick_seconds=0.05, install_signal_handlers=False,
    )
    with ServiceThread(service):
        wait_until(lambda: service.lease is not None and service.lease.last_action is LeaseAction.STANDBY,
                   "host-b to stand by")
        assert factory.directory.count("sweep") == 0
        clock.advance(3)  # host-a's lease lapses
        wait_until(lambda: factory.directory.count("sweep") == 1, "host-b to sweep after taking over")
        assert store.read().holder == "host-b"
    assert factory.directory.count("sweep") == 1  # once: the interval is 600 s
