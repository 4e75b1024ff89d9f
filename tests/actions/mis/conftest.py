"""Shared fixtures for the MIS provisioning tests: sample feeds and package builders."""

from __future__ import annotations

import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.core.mis.settings import MisSettings
from tests.actions.mis.support import ENROLLMENTS_HEADER, MANIFEST_BULK, ORGS, SAMPLES, USERS_HEADER


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


# --- Directories to import into (tests/actions/mis/test_apply_*.py) ---------------------------------


@pytest.fixture(params=["mock", pytest.param("slapd", marks=pytest.mark.slapd)])
def target(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An empty accounts base to import into: ldap3's mock (embedded) or the real slapd, whose
    base is cleared before and after each test (the server is shared by the whole session)."""
    from tests.actions.mis.apply_targets import mock_target, slapd_target

    if request.param == "mock":
        yield mock_target(tmp_path)
        return
    server = request.getfixturevalue("slapd_server")
    try:
        yield slapd_target(tmp_path, server, monkeypatch)
    finally:
        server.clear_base()
