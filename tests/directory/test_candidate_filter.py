"""The filtered plan equals the full plan (DESIGN.md, "Performance shape"), on the mock server."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.actions.session import open_directory
from agent.actions.sweep import learner_identities, plan
from agent.core.policy import Context, flagged_or_acted
from tests.builders import load_config, noon
from tests.core.strategies import TODAY, accounts
from tests.directory.populate import write_state


@st.composite
def populations(draw):
    size = draw(st.integers(5, 30))
    return [draw(accounts(index=index)) for index in range(size)]


def _due(directory, config, now, full):
    return {
        (planned.account.dn.lower(), planned.decision.action, planned.decision.rule)
        for planned in plan(directory, config, now, full=full)
        if flagged_or_acted(planned.decision)
    }


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    population=populations(),
    days_later=st.sampled_from([0, 1, 90, 365]),
    flavour=st.sampled_from(["openldap", "active-directory", "389ds"]),
)
def test_filtered_plan_equals_full_plan_on_random_populations(
    tmp_path_factory, population, days_later, flavour
):
    tmp_path = tmp_path_factory.mktemp("population")
    config = load_config(tmp_path, flavour=flavour)
    write_state(config, population)
    now = noon(TODAY) + timedelta(days=days_later)
    with open_directory(config) as directory:
        assert _due(directory, config, now, full=False) == _due(directory, config, now, full=True)


def test_learner_identity_conflicts_are_found_by_mail_and_mis_id(tmp_path):
    from tests.builders import learner, non_mis

    config = load_config(tmp_path)
    population = [
        learner(dn="uid=l1,ou=people,dc=test,dc=example", uid="l1", mail="Pupil@School.example", mis_id="A1"),
        non_mis(dn="uid=n1,ou=people,dc=test,dc=example", uid="n1", mail="pupil@school.example"),
        non_mis(dn="uid=n2,ou=people,dc=test,dc=example", uid="n2", mail="n2@x.example", mis_id="A1"),
        non_mis(dn="uid=n3,ou=people,dc=test,dc=example", uid="n3", mail="n3@x.example"),
    ]
    write_state(config, population)
    with open_directory(config) as directory:
        identities = learner_identities(directory)
        decided = {p.account.uid: p.decision.rule for p in plan(directory, config, noon(TODAY), full=True)}
    assert identities.mails == {"pupil@school.example"} and identities.mis_ids == {"A1"}
    assert decided["n1"] == decided["n2"] == "NM-2"
    assert decided["n3"] != "NM-2"
    assert Context(identities.covers(population[3])) == Context(False)
