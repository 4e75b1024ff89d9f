"""C-7 for the entry at fault only: unusable lifecycle values make one error row, never a crash,
and attributes the rules do not use never block the lifecycle (issue 11, item 4)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.actions.audit import AuditTrail
from agent.actions.session import open_directory
from agent.actions.sweep import sweep
from agent.cli import main
from agent.core.model import Action, Category
from agent.core.policy import PolicySettings, decide
from agent.directory.connection import mapper_for
from tests.builders import load_config, non_mis, write_config
from tests.directory.populate import write_state

NOW = datetime(2026, 11, 16, 12, tzinfo=UTC)
BASE = "ou=people,dc=test,dc=example"
POLICY = PolicySettings()


@pytest.fixture(params=["openldap", "active-directory", "389ds"])
def mapper(request, tmp_path):
    config = load_config(tmp_path, flavour=request.param)
    return mapper_for(config.directory, config.attributes)


def _mis_leaver(**extra):
    return {"objectClass": ["inetOrgPerson", "hwbAccount"], "uid": ["x"], "cn": ["X"], "sn": ["X"],
            "hwbCategory": ["mis"], "hwbRole": ["learner"], "hwbMisId": ["A123456789012"],
            "hwbLeavingDate": ["20260101000000Z"], **extra}


@pytest.mark.parametrize(("attribute", "value"), [
    ("hwbLeavingDate", "99991231000000Z"),
    ("hwbLeavingDate", "00010101000000Z"),
    ("hwbDisabledAt", "00010101000000Z"),
    ("hwbDisabledAt", "99991231235959Z"),
    ("hwbReactivatedAt", "00010101000000Z"),
])
def test_c_7_a_date_out_of_the_policys_range_is_a_problem_of_that_attribute(tmp_path, attribute, value):
    config = load_config(tmp_path)
    mapper = mapper_for(config.directory, config.attributes)
    account = mapper.to_account(f"uid=x,{BASE}", _mis_leaver(**{attribute: [value]}))
    [problem] = account.problems
    assert (problem.attribute, problem.value) == (attribute, value)
    assert "out of the usable range" in problem.detail
    decision = decide(account, NOW, POLICY)
    assert (decision.action, decision.rule) == (Action.NONE, "C-7") and value in decision.detail


def test_c_7_an_expiry_in_year_9999_is_reported_not_a_crash(tmp_path):
    config = load_config(tmp_path)
    mapper = mapper_for(config.directory, config.attributes)
    raw = {"uid": ["g"], "hwbCategory": ["non-mis"], "hwbNonMisType": ["governor"],
           "hwbExpiryDate": ["99991231000000Z"], "hwbDisabledAt": ["20250101000000Z"],
           "pwdAccountLockedTime": ["000001010000Z"]}
    account = mapper.to_account(f"uid=g,{BASE}", raw)
    assert [problem.attribute for problem in account.problems] == ["hwbExpiryDate"]
    assert decide(account, NOW, POLICY).rule == "C-7"


def test_two_cn_values_do_not_block_the_lifecycle(mapper):
    name = mapper.attribute("display_name")
    uid = mapper.attribute("uid")
    raw = {**_mis_leaver(), name: ["Ann Jones", "Ann Jones-Evans"], uid: ["x"],
           mapper.attribute("given_name"): ["Ann", "Annie"]}
    account = mapper.to_account(f"{uid}=x,{BASE}", raw)
    assert account.problems == ()
    assert account.display_name == "Ann Jones" and account.given_name == "Ann"
    assert decide(account, NOW, POLICY).action is Action.DISABLE  # MIS-2 goes on


def test_a_multi_valued_uid_takes_the_value_its_dn_names(tmp_path):
    config = load_config(tmp_path)
    mapper = mapper_for(config.directory, config.attributes)
    account = mapper.to_account(f"uid=ann.j,{BASE}", {**_mis_leaver(), "uid": ["ann.jones", "ann.j"]})
    assert account.problems == () and account.uid == "ann.j"


def test_a_multi_valued_lifecycle_attribute_is_still_a_problem(tmp_path):
    config = load_config(tmp_path)
    mapper = mapper_for(config.directory, config.attributes)
    account = mapper.to_account(f"uid=x,{BASE}", _mis_leaver(hwbLeavingDate=["20260101000000Z",
                                                                          "20270101000000Z"]))
    problems = [(problem.attribute, problem.detail) for problem in account.problems]
    assert problems == [("hwbLeavingDate", "single value expected")]


def test_an_unreadable_request_time_is_still_a_request_with_its_problem(tmp_path):
    config = load_config(tmp_path)
    mapper = mapper_for(config.directory, config.attributes)
    account = mapper.to_account(f"uid=x,{BASE}", {**_mis_leaver(), "hwbActivationRequestedAt": ["soon"]})
    assert account.activation_request is not None and account.activation_request.requested_at is None
    assert [p.attribute for p in account.problems] == ["hwbActivationRequestedAt"]


# --- Property: arbitrary bytes never raise out of mapping or decision -------------------------------

_VALUES = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=30).map(str.encode),
    # GeneralizedTime-shaped values across the whole range a server accepts, and beyond.
    st.builds(lambda year, rest: f"{year:04d}{rest}".encode(), st.integers(0, 9999),
              st.sampled_from(["0101000000Z", "1231235959Z", "1231000000+2359", "0229000000Z",
                               "0101000000.9999999Z", "01010000-1200", "1301000000Z"])),
    st.integers(-(2**70), 2**70).map(lambda number: str(number).encode()),
)
_FAR_NOWS = st.sampled_from([datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC),
                             datetime(1000, 1, 1, tzinfo=UTC), datetime(8999, 12, 31, tzinfo=UTC), NOW])


@pytest.fixture(scope="module")
def mappers(tmp_path_factory):
    made = {}
    for flavour in ("openldap", "active-directory", "389ds"):
        config = load_config(tmp_path_factory.mktemp(flavour), flavour=flavour)
        made[flavour] = mapper_for(config.directory, config.attributes)
    return made


@pytest.mark.parametrize("flavour", ["openldap", "active-directory", "389ds"])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_property_arbitrary_bytes_never_raise_out_of_mapping_or_decision(mappers, flavour, data):
    mapper = mappers[flavour]
    names = mapper.read_attributes()
    raw = {name: data.draw(st.lists(_VALUES, max_size=3), label=name)
           for name in data.draw(st.sets(st.sampled_from(names), min_size=1), label="attributes")}
    account = mapper.to_account(f"uid=p,{BASE}", raw)
    for now in (NOW, data.draw(_FAR_NOWS, label="now")):
        decision = decide(account, now, POLICY)
        if account.problems:
            assert decision.action is Action.NONE


# --- A sweep over a directory holding bad entries processes every other entry ---------------------

def _bad_entries():
    """Entries a server accepts but the policy cannot use, and one that must not be blocked."""
    def raw(uid, **attributes):
        base = {"objectClass": ["inetOrgPerson", "hwbAccount"], "uid": [uid], "cn": [uid], "sn": [uid]}
        return (f"uid={uid},{BASE}", {**base, **attributes})
    locked = {"pwdAccountLockedTime": ["000001010000Z"]}
    return [
        raw("bad.year9999", hwbCategory=["non-mis"], hwbNonMisType=["governor"],
            hwbExpiryDate=["99991231000000Z"], createTimestamp=["20260101000000Z"]),
        raw("bad.disabled0001", hwbCategory=["non-mis"], hwbNonMisType=["governor"],
            hwbExpiryDate=["20250101000000Z"], hwbDisabledAt=["00010101000000Z"],
            hwbDisabledReason=["expired"], **locked),
        raw("bad.leaving0001", hwbCategory=["mis"], hwbRole=["learner"], hwbMisId=["A000000000001"],
            hwbLeavingDate=["00010101000000Z"], hwbDisabledReason=["left"],
            hwbDisabledAt=["20250101000000Z"], **locked),
        raw("bad.two.dates", hwbCategory=["mis"], hwbRole=["learner"], hwbMisId=["A000000000002"],
            hwbLeavingDate=["20260101000000Z", "20270101000000Z"]),
        raw("bad.bytes", hwbCategory=["non-mis"], hwbNonMisType=["governor\x00"],
            hwbExpiryDate=["2026\x07\ufffd"], createTimestamp=["20260101000000Z"]),
        # Due (MIS-2) and with two cn values: it must be disabled like any other leaver.
        (f"uid=two.cn,{BASE}", {"objectClass": ["inetOrgPerson", "hwbAccount"], "uid": ["two.cn"],
                               "cn": ["Two Names", "Two Other Names"], "sn": ["Names"],
                               "hwbCategory": ["mis"], "hwbRole": ["learner"],
                               "hwbMisId": ["A000000000003"], "hwbLeavingDate": ["20260101000000Z"]}),
    ]


def _good_accounts():
    expired = date(2026, 10, 1)
    return [non_mis(uid=f"due.{index}", dn=f"uid=due.{index},{BASE}", expiry_date=expired,
                    created_at=NOW - timedelta(days=10), last_sign_in=NOW - timedelta(days=1))
            for index in range(5)]


OPEN_GUARD = {"safety": {"max_disables": 100, "max_purges": 20, "max_change_percent": 100}}


def _load(tmp_path):
    config = load_config(tmp_path, OPEN_GUARD)
    write_state(config, _good_accounts(), _bad_entries())
    return config


BAD = {"bad.year9999", "bad.disabled0001", "bad.leaving0001", "bad.two.dates", "bad.bytes"}
DUE = {f"due.{index}" for index in range(5)} | {"two.cn"}


@pytest.mark.parametrize("options", [{}, {"full": True}, {"dry_run": True, "full": True},
                                     {"dry_run": True, "full": True, "as_of": "far"}])
def test_sweep_over_bad_entries_processes_every_other_entry(tmp_path, options):
    config = _load(tmp_path)
    now = NOW
    if options.pop("as_of", None):
        now = datetime(2031, 6, 1, tzinfo=UTC)  # a forecast years ahead: more arithmetic, same rows
    audit = AuditTrail(config.logging.audit_file)
    with open_directory(config) as directory:
        report = sweep(directory, config, audit, now, **options)
    audit.close()
    acted = {action.uid for action in report.actions}
    assert acted >= DUE and not acted & BAD
    erred = {error.uid for error in report.errors}
    assert erred == BAD if options.get("full") else erred <= BAD
    if not options.get("dry_run"):
        with open_directory(config) as directory:
            [two] = directory.find("uid", "two.cn")
            assert not two.enabled


def test_show_list_expiring_review_report_bad_entries_without_crashing(tmp_path, capsys):
    path = write_config(tmp_path, OPEN_GUARD)
    _load(tmp_path)
    base = ["--config", str(path)]
    for uid in sorted(BAD):
        code = main([*base, "show", uid, "--json"])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        shown = json.loads(captured.out)
        assert shown["problems"] and shown["why"]["rule"] == "C-7"
    for command in (["list"], ["expiring", "--weeks", "104"], ["review"]):
        for form in ([], ["--json"], ["--csv"]):
            code = main([*base, *command, *form])
            captured = capsys.readouterr()
            assert code == 0, (command, form, captured.err)
    assert main([*base, "list", "--json"]) == 0
    rows = {row["uid"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) >= BAD | DUE
    assert all(rows[uid].get("problems") for uid in BAD) and not rows["two.cn"].get("problems")
    # Bad data stays visible in the dated listings too: an unusable expiry is no silent omission.
    assert main([*base, "expiring", "--weeks", "104", "--json"]) == 0
    assert "bad.year9999" in capsys.readouterr().out


def test_category_is_known_for_bad_entries(tmp_path):
    """The error rows still say what kind of account is at fault (a C-7 row names its entry)."""
    config = _load(tmp_path)
    with open_directory(config) as directory:
        [account] = directory.find("uid", "bad.year9999")
    assert account.category is Category.NON_MIS and account.problems
