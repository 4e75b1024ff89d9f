"""hwbReminderSent is multi-valued by design (issue 14): read into Account.reminders_sent, never a C-7
problem, on every flavour's mapping."""

from __future__ import annotations

import pytest

from agent.directory.connection import mapper_for
from tests.builders import load_config


@pytest.fixture(params=["openldap", "active-directory", "389ds"])
def mapper(request, tmp_path):
    config = load_config(tmp_path, flavour=request.param)
    return mapper_for(config.directory, config.attributes)


def _entry(**extra):
    return {"objectClass": ["inetOrgPerson", "hwbAccount"], "uid": ["n1"], "cn": ["N"], "sn": ["N"],
            "hwbCategory": ["non-mis"], "hwbNonMisType": ["governor"], "hwbSponsor": ["admin1"],
            "hwbExpiryDate": ["20270131000000Z"], **extra}


def test_several_reminder_keys_are_read_as_a_set_without_a_problem(mapper):
    keys = [b"56:expiry:2027-01-31", b"14:expiry:2027-01-31"]
    account = mapper.to_account("uid=n1,ou=people,dc=test,dc=example", _entry(hwbReminderSent=keys))
    assert account.problems == ()
    assert account.reminders_sent == {"56:expiry:2027-01-31", "14:expiry:2027-01-31"}


def test_an_entry_without_reminders_has_none(mapper):
    account = mapper.to_account("uid=n1,ou=people,dc=test,dc=example", _entry())
    assert account.reminders_sent == frozenset()
    assert "hwbReminderSent" in mapper.read_attributes()


def test_another_lifecycle_attribute_with_two_values_is_still_a_c7_problem(mapper):
    account = mapper.to_account("uid=n1,ou=people,dc=test,dc=example",
                                _entry(hwbSponsor=["admin1", "admin2"]))
    assert [problem.attribute for problem in account.problems] == ["hwbSponsor"]
