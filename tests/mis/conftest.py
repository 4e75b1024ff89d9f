"""Shared fixtures for the MIS provisioning tests: sample feeds, package builders, a fake apply."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import pytest

from agent.mis.plan import ActionKind, ProvisioningPlan
from agent.mis.settings import MisSettings
from agent.model import Account, Category, Role

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "oneroster"
BASE_DN = "ou=people,dc=example,dc=org"

MANIFEST_BULK = (
    "propertyName,value\n"
    "manifest.version,1.0\n"
    "oneroster.version,1.1\n"
    "file.orgs,bulk\n"
    "file.users,bulk\n"
    "file.enrollments,bulk\n"
)
ORGS = (
    "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
    "org-la,,,Cardiff Council,district,681,\n"
    "org-a,,,School A,school,6810001,org-la\n"
    "org-b,,,School B,school,6810002,org-la\n"
)
USERS_HEADER = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,"
    "givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
)
ENROLLMENTS_HEADER = (
    "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,primary,"
    "beginDate,endDate\n"
)


@pytest.fixture
def settings() -> MisSettings:
    return MisSettings()


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def write_package(tmp_path: Path) -> Callable[..., Path]:
    """Write a package folder from file texts; unspecified files get small valid defaults."""

    def write(name: str = "feed", **files: str | None) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        defaults = {
            "manifest.csv": MANIFEST_BULK,
            "orgs.csv": ORGS,
            "users.csv": USERS_HEADER,
            "enrollments.csv": ENROLLMENTS_HEADER,
        }
        for file_name, default in defaults.items():
            text = files.get(file_name.replace(".csv", ""), default)
            if text is not None:
                (folder / file_name).write_text(text, encoding="utf-8")
        return folder

    return write


@pytest.fixture
def zip_of(tmp_path: Path) -> Callable[..., Path]:
    """The .zip variant of a package folder (optionally inside a top-level folder)."""

    def make(folder: Path, inner_folder: str = "") -> Path:
        archive = tmp_path / f"{folder.name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(folder.iterdir()):
                zipped.write(path, f"{inner_folder}{path.name}")
        return archive

    return make


@pytest.fixture
def copy_sample(tmp_path: Path) -> Callable[[str], Path]:
    def copy(name: str) -> Path:
        return Path(shutil.copytree(SAMPLES / name, tmp_path / name))

    return copy


def apply_plan(accounts: Iterable[Account], plan: ProvisioningPlan) -> list[Account]:
    """What the directory holds after the plan's (not held) actions: a hand-written fake apply."""
    by_dn = {account.dn: account for account in accounts}
    for action in plan.actions:
        fields = action.fields
        if action.kind is ActionKind.CREATE:
            dn = f"uid={action.uid},{action.container},{BASE_DN}"
            assert dn not in by_dn
            by_dn[dn] = Account(
                dn=dn,
                uid=action.uid,
                category=Category(fields["category"]),
                enabled=True,
                role=Role(fields["role"]),
                mis_id=fields["mis_id"],
                school=fields["school"],
                given_name=fields["given_name"],
                surname=fields["surname"],
                display_name=fields["display_name"],
                mail=fields.get("mail"),
                leaving_date=fields.get("leaving_date"),
            )
        else:
            assert action.dn is not None
            by_dn[action.dn] = replace(by_dn[action.dn], **fields)
    return list(by_dn.values())


@pytest.fixture(name="apply_plan")
def apply_plan_fixture() -> Callable[[Iterable[Account], ProvisioningPlan], list[Account]]:
    return apply_plan
