"""C-7 on a real slapd: values the server stores but the policy cannot use (year 0001 and 9999 in
GeneralizedTime lifecycle attributes) make one error row each, and a multi-valued `cn` blocks
nothing; every other entry is processed, in the routine sweep, `--full`, forecasts and listings
(issue 11, item 4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.e2e.conftest import AgentRun, uid

pytestmark = pytest.mark.slapd


@pytest.fixture
def slapd_run(request, tmp_path, capsys, monkeypatch) -> AgentRun:
    server = request.getfixturevalue("slapd_server")
    server.clear_base()
    run = AgentRun(server, tmp_path, capsys, monkeypatch)
    run.configure()
    return run


def _population(run: AgentRun) -> tuple[dict[str, str], set[str]]:
    """Bad entries (uid -> attribute at fault) and due accounts that must be acted on."""
    today = run.now().date()
    past = today - timedelta(days=30)
    bad = {
        uid("bad-exp9999"): "hwbExpiryDate",
        uid("bad-dis0001"): "hwbDisabledAt",
        uid("bad-leave0001"): "hwbLeavingDate",
        uid("bad-leave9999"): "hwbLeavingDate",
        uid("bad-react0001"): "hwbReactivatedAt",
    }
    names = list(bad)
    run.add(names[0], category="non-mis", non_mis_type="governor", sponsor="admin.e2e",
            extra={"hwbExpiryDate": "99991231000000Z"})
    dn = run.non_mis(names[1], expiry=past, disabled_reason="expired",
                     extra={"hwbDisabledAt": "00010101000000Z"})
    run.set_disabled(dn)
    dn = run.add(names[2], category="mis", role="learner", mis_id="A" + names[2][-12:].rjust(12, "0"),
                 disabled_reason="left", extra={"hwbLeavingDate": "00010101000000Z"})
    run.set_disabled(dn)
    run.add(names[3], category="mis", role="staff", mis_id="S-" + names[3],
            extra={"hwbLeavingDate": "99991231000000Z"})
    run.add(names[4], category="mis", role="learner", mis_id="B" + names[4][-12:].rjust(12, "0"),
            leaving_date=past, extra={"hwbReactivatedAt": "00010101000000Z"})
    due = {uid("due-expired"), uid("due-leaver"), uid("two-cn")}
    first, second, two = sorted(due, key=lambda name: ("expired" not in name, "leaver" not in name))
    run.non_mis(first, expiry=past)
    run.add(second, category="mis", role="learner", mis_id="C" + second[-12:].rjust(12, "0"),
            leaving_date=past)
    # Two cn values: legitimate in the core schema, and no lifecycle attribute.
    run.add(two, category="mis", role="staff", mis_id="S-" + two, leaving_date=past,
            extra={"cn": ["Dau Enw", "Two Names"]})
    return bad, due


def test_out_of_range_dates_are_error_rows_and_the_rest_is_swept_on_slapd(slapd_run):
    run = slapd_run
    bad, due = _population(run)
    # A forecast years ahead and a full dry run: every bad entry one error row, no crash.
    for args in (["--dry-run", "--as-of", (run.now() + timedelta(days=3 * 365)).date().isoformat()],
                 ["--dry-run", "--full"]):
        report = run.sweep(*args)
        errors = {(error["uid"], error["attribute"]) for error in report["errors"]}
        assert errors == set(bad.items()), args
        acted = {action["uid"] for action in report["actions"]}
        assert due <= acted and not acted & set(bad), args
    # The routine sweep writes: every due account disabled, the two-cn one included.
    report = run.sweep()
    assert due <= {action["uid"] for action in report["actions"]}
    assert not {action["uid"] for action in report["actions"]} & set(bad)
    assert {error["uid"] for error in report["errors"]} <= set(bad)
    for name in due:
        assert run.json("show", name)["enabled"] is False
    two = next(name for name in due if name.startswith("two-cn"))
    assert run.json("show", two)["name"] in ("Dau Enw", "Two Names")
    # show, list, expiring and review report the bad entries instead of crashing.
    for name, attribute in bad.items():
        shown = run.json("show", name)
        assert shown["why"]["rule"] == "C-7"
        assert [problem["attribute"] for problem in shown["problems"]] == [attribute]
        _, out, _ = run.run("show", name)
        assert "PROBLEM:" in out and attribute in out
    rows = {row["uid"]: row for row in run.json("list")}
    assert all(rows[name]["problems"] for name in bad)
    expiring = run.json("expiring", "--weeks", "104")
    assert [row["uid"] for row in expiring if row.get("problems")] == [
        name for name in bad if name.startswith("bad-exp9999")]
    review = {row["uid"]: row for row in run.json("review")}
    assert review[next(name for name in bad if name.startswith("bad-exp9999"))]["problems"]
    for command in (["list", "--csv"], ["expiring", "--csv"], ["review", "--csv"], ["review"]):
        run.run(*command)
    # C-5: a second sweep writes nothing, whatever the bad entries say.
    assert run.sweep()["actions"] == []
