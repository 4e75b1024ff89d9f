"""What each real server does differently and the agent must survive, through its own commands:
paging past the server's size limit (and refusing a truncated read), LDAP special characters in
uids, names and sponsors, entries without the hwbAccount class (C-4), and on Samba the per-DC
lastLogon that confirms NM-4 before a disable."""

from __future__ import annotations

import socket
from datetime import timedelta

import ldap3
import pytest

from agent.settings.attributes import Flavour
from tests.e2e.conftest import PASSWORD, SERVERS, AgentRun, filetime, uid
from tests.servers.base import TestServer, dn_key

PAGED_TOTAL = 120  # more than the size limit of slapd and 389-DS in the fixtures (50)


def _bulk_ldif(e2e: AgentRun, count: int, sponsor: str) -> str:
    expiry = e2e.time((e2e.now() + timedelta(days=300)).date())
    records = []
    for number in range(count):
        login = uid("pg")
        lifecycle = (f"hwbCategory: non-mis\nhwbNonMisType: service\nhwbSponsor: {sponsor}\n"
                     f"hwbExpiryDate: {expiry}")
        if e2e.is_ad:
            records.append(f"dn: {e2e.server.user_dn(login)}\nobjectClass: user\nsAMAccountName: {login}\n"
                           f"sn: pager{number}\n{lifecycle}")
        else:
            records.append(f"dn: {e2e.server.user_dn(login)}\nobjectClass: inetOrgPerson\n"
                           f"objectClass: hwbAccount\nuid: {login}\ncn: {login}\nsn: pager{number}\n"
                           f"{lifecycle}")
    return "\n\n".join(records) + "\n"


def test_list_and_sweep_page_past_the_size_limit_and_a_truncated_read_is_an_error(e2e: AgentRun):
    """DESIGN 'paged streaming search': `list` and `sweep --full` see all 120 accounts in pages of
    25 where an unpaged search stops at 50. Bound as someone the limit applies to (pages of 100),
    the same `list` fails (exit 1) instead of printing the first 50 as if they were all (ldap3
    does not raise on sizeLimitExceeded; the "not found, so delete" anti-pattern)."""
    e2e.server.add_ldif(_bulk_ldif(e2e, PAGED_TOTAL, "pager"))
    rows = e2e.json("list", "--sponsor", "pager")
    assert len(rows) == PAGED_TOTAL and len({row["uid"] for row in rows}) == PAGED_TOTAL
    report = e2e.sweep("--full", "--dry-run")
    assert report["scanned"] == PAGED_TOTAL and report["operations"]["entries_read"] >= PAGED_TOTAL
    if e2e.server.size_limit is None:
        return  # Samba enforces no size limit (Windows: 1,000 per page, which paging satisfies)

    # An ordinary user (no exemption from the size limit) pages through the same accounts.
    reader = uid("reader")
    reader_dn = e2e.server.add_user(reader, PASSWORD)
    with e2e.server.connect() as connection:
        if e2e.flavour == Flavour.DS389.value:  # 389-DS: users read nothing without an ACI
            connection.modify(e2e.server.base_dn, {"aci": [(ldap3.MODIFY_ADD, [
                f'(targetattr="*")(version 3.0; acl "e2e reader"; allow (read, search, compare)'
                f' userdn="ldap:///{reader_dn}";)'])]})
    try:
        (e2e.path / "reader-password").write_text(PASSWORD)
        # Pages larger than the limit: 389-DS applies nsslapd-sizelimit per page, slapd to the total.
        e2e.configure(directory={"bind_dn": reader_dn, "password_file": str(e2e.path / "reader-password"),
                                 "page_size": 100})
        code, out, err = e2e.run("list", "--sponsor", "pager", "--json", expect=None)
        assert code == 1, (code, out[:200], err)
        assert out == "" and "incomplete" in err and "sizeLimitExceeded" in err
    finally:
        if e2e.flavour == Flavour.DS389.value:
            with e2e.server.connect() as connection:
                connection.modify(e2e.server.base_dn, {"aci": [(ldap3.MODIFY_DELETE, [
                    f'(targetattr="*")(version 3.0; acl "e2e reader"; allow (read, search, compare)'
                    f' userdn="ldap:///{reader_dn}";)'])]})


AWKWARD = ["a*b", "pa(r)en", "back\\slash", "com,ma", "pl+us", "Siân"]


def _login(e2e: AgentRun, awkward: str) -> str:
    """The awkward value as a login where the server allows it: AD's sAMAccountName refuses
    * ( ) \\ , + (the CN holds them), 389-DS's 7-bit check refuses non-ASCII uids."""
    if e2e.is_ad or (e2e.flavour == Flavour.DS389.value and not awkward.isascii()):
        return uid("sp")
    return uid("sp-") + awkward


def test_special_characters_in_uids_names_and_sponsors_work_and_never_widen_a_search(e2e: AgentRun):
    """Filter values escaped (STYLE 8): `list --sponsor '*'` is that sponsor's accounts only;
    expired accounts with awkward uids/CNs are disabled by the sweep (NM-3), found by `show` and
    re-enabled by `activate` (NM-5) through DNs the server escapes its own way (C-3 scope check)."""
    yesterday = e2e.now().date() - timedelta(days=1)
    logins = {}
    for awkward in AWKWARD:
        login = _login(e2e, awkward)
        name = uid("cn-") + awkward
        dn = e2e.non_mis(login, cn=name if e2e.is_ad else None, given_name=awkward, surname=awkward + " x",
                         sponsor=f"sponsor {awkward}", expiry=yesterday)
        logins[awkward] = (login, dn)
    star = e2e.non_mis(uid("star"), sponsor="*")
    e2e.non_mis(uid("decoy"), sponsor="sponsor anything")

    assert [dn_key(row["dn"]) for row in e2e.json("list", "--sponsor", "*")] == [dn_key(star)]
    assert e2e.json("list", "--sponsor", "sponsor *") == []
    for awkward, (login, dn) in logins.items():
        rows = e2e.json("list", "--sponsor", f"sponsor {awkward}")
        assert [row["uid"] for row in rows] == [login], awkward
        shown = e2e.json("show", login)
        assert shown["name"].startswith(awkward) and dn_key(shown["dn"]) == dn_key(dn)
    e2e.run("show", "sp*", expect=2)  # a uid pattern is a literal, not a wildcard: no such account

    report = e2e.sweep()
    disabled = {row["uid"] for row in report["actions"] if row["rule"] == "NM-3"}
    assert disabled == {login for login, _ in logins.values()} and not report["errors"]
    for awkward, (login, dn) in logins.items():
        assert not e2e.can_bind(dn), awkward
        e2e.run("activate", login, "--by", "admin.e2e", "--duration", "eoy")
        assert e2e.can_bind(dn), awkward
    assert e2e.sweep()["actions"] == []


@pytest.mark.parametrize("e2e", [SERVERS[0], SERVERS[2]], indirect=True)
def test_an_entry_without_the_hwbAccount_class_gets_it_in_the_same_modify(e2e: AgentRun):
    """C-4 on OpenLDAP and 389-DS: an account made by another tool keeps its category and role in
    attributes of its own (attributes: overrides) and has no hwbAccount class; the first hwb*
    attribute the agent writes (a portal's activation request, C-1, then its refusal) arrives in
    one modify with the class."""
    e2e.configure(attributes={"category": "employeeType", "role": "businessCategory"})
    login = uid("foreign")
    dn = e2e.server.add_user(login, PASSWORD, attributes={"employeeType": "mis", "businessCategory": "staff"})
    assert e2e.json("show", login)["category"] == "mis"
    e2e.run("request-activation", login, "--by", "portal:e2e")
    with e2e.server.connect() as connection:
        connection.search(dn, "(objectClass=*)", ldap3.BASE,
                          attributes=["objectClass", "hwbActivationRequestedBy"])
        attributes = connection.response[0]["attributes"]
    assert "hwbaccount" in {value.lower() for value in attributes["objectClass"]}
    assert attributes["hwbActivationRequestedBy"] in (["portal:e2e"], "portal:e2e")
    answered = e2e.json("requests")
    assert answered["counts"]["refused"] == 1  # an MIS account: only the service desk (MIS-4)


# --- Samba: the unreplicated lastLogon of every domain controller (issue 4) ------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.samba
def test_nm4_on_ad_is_confirmed_with_each_dcs_lastLogon_and_an_unreachable_dc_prevents_the_disable(
        samba_server: TestServer, samba_second_dc: TestServer, tmp_path, capsys, monkeypatch):
    """lastLogonTimestamp (replicated, 9-14 days late) says inactive for all three accounts; a recent
    lastLogon on the first DC (written by an administrator) or on the second (a real Kerberos
    sign-in) keeps an account enabled; with a third DC that cannot be reached nothing is disabled
    (flagged NM-4, never on a stale value); with both DCs answering, the idle account is disabled."""
    for server in (samba_server, samba_second_dc):
        server.clear_base()
    e2e = AgentRun(samba_server, tmp_path, capsys, monkeypatch)
    e2e.configure(directory={"domain_controllers": [samba_server.url, samba_second_dc.url]})
    long_ago = e2e.now() - timedelta(days=200)
    accounts = {}
    for name in ("dc1seen", "dc2seen", "idle"):
        login = uid(name)
        dn = e2e.non_mis(login)
        assert dn_key(samba_second_dc.add_user(login, PASSWORD)) == dn_key(dn)  # a copy, not a replica
        e2e.age(dn, created=long_ago, sign_in=long_ago)
        accounts[name] = (login, dn)
    recent = e2e.now() - timedelta(days=2)
    samba_server.age({accounts["dc1seen"][1]: {"lastLogon": filetime(recent)}})
    samba_second_dc.kerberos_sign_in(accounts["dc2seen"][0], PASSWORD)

    unreachable = f"ldap://127.0.0.1:{_closed_port()}"
    e2e.configure(directory={"domain_controllers": [samba_server.url, samba_second_dc.url, unreachable]})
    report = e2e.sweep()
    assert report["actions"] == []
    flagged = {row["uid"]: row for row in report["flags"]}
    assert set(flagged) == {login for login, _ in accounts.values()}
    assert all(row["rule"] == "NM-4" and "not disabled on a stale value" in row["detail"]
               for row in flagged.values())

    e2e.configure(directory={"domain_controllers": [samba_server.url, samba_second_dc.url]})
    report = e2e.sweep()
    assert [(row["uid"], row["rule"]) for row in report["actions"]] == [(accounts["idle"][0], "NM-4")]
    assert report["flags"] == []
    assert not e2e.can_bind(accounts["idle"][1])
    assert e2e.can_bind(accounts["dc1seen"][1]) and e2e.can_bind(accounts["dc2seen"][1])



@pytest.mark.samba
def test_the_failover_lease_works_on_samba_with_its_generalized_time_form(samba_server: TestServer):
    """The service's lease (hwbLeaseExpiry, GeneralizedTime) on AD: written as ....0Z (Samba refuses
    the plain form with 21) and read back as a time, not as "unreadable" (which would make a held
    lease look free to the standby host)."""
    from datetime import UTC, datetime

    from agent.directory.lease_store import LdapLeaseStore

    dn = f"CN=hwb-lease-{uid('l')},{samba_server.base_dn}"
    expiry = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with samba_server.connect() as connection:
        store = LdapLeaseStore(lambda: connection, dn, time_fraction=True)
        assert store.read().holder is None
        assert store.swap(None, None, "host-a", expiry)
        state = store.read()
        assert (state.holder, state.expiry) == ("host-a", expiry)
        rival = LdapLeaseStore(lambda: connection, dn, time_fraction=True)
        assert not rival.swap(None, None, "host-b", expiry)  # the race is still decided by the server
        assert store.swap("host-a", expiry, "host-a", expiry.replace(year=2031))
        connection.delete(dn)


@pytest.mark.samba
def test_create_on_ad_works_under_a_real_password_policy(samba_server: TestServer, tmp_path, capsys,
                                                        monkeypatch):
    """NM-1 `create` on AD under Windows' default policy shape (minimum length 7, complexity): the
    agent's random initial password passes it, and the account is enabled. (Windows refuses an
    enabled user added without a password under such a policy, 0000052D; Samba 4.17 accepts
    one, so that refusal cannot be shown here.)"""
    samba_server.clear_base()
    domain = samba_server.suffix
    policy = {"minPwdLength": "7", "pwdProperties": "1"}
    with samba_server.connect() as connection:
        connection.search(domain, "(objectClass=*)", ldap3.BASE, attributes=list(policy))
        before = {name: str(connection.response[0]["attributes"][name][0]) for name in policy}
    _set(samba_server, domain, policy)
    try:
        e2e = AgentRun(samba_server, tmp_path, capsys, monkeypatch)
        e2e.configure()
        created = e2e.json("create", "--type", "governor", "--given-name", "Policy", "--surname", "Tested",
                           "--mail", "policy.tested@example.org", "--sponsor", "admin", "--duration", "1m")
        assert e2e.json("show", created["uid"])["enabled"]
        with pytest.raises(ldap3.core.exceptions.LDAPException):  # the policy is really on
            e2e.set_password(created["dn"], "short")
    finally:
        _set(samba_server, domain, before)


def _set(server: TestServer, dn: str, values: dict[str, str]) -> None:
    with server.connect() as connection:
        connection.modify(dn, {name: [(ldap3.MODIFY_REPLACE, [value])] for name, value in values.items()})
