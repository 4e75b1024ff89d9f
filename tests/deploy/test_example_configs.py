"""The example configurations under config/ parse, document every key the agent reads, and match the
systemd unit (audit file in the instance's LogsDirectory, password file = the LoadCredential name).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from agent.settings import config as config_module
from agent.settings.reader import Reader
from tests.deploy.guide import REPO

TEMPLATE = REPO / "config" / "example-la.yaml"
EXAMPLES = [TEMPLATE, *(REPO / "config" / f"example-{name}.yaml" for name in ("active-directory", "389ds"))]
UNIT = (REPO / "deploy" / "systemd" / "hwb-agent@.service").read_text()
# Keys whose children are the user's own names (fields, OneRoster roles), and the inline password,
# which only the demo may use.
FREE_FORM = ("attributes.", "mis.roles.")
NOT_DOCUMENTED = {"directory.password"}
COMMENTED_KEY = re.compile(r"^(\s*)# ([a-z_]+:(\s.*)?)$")


def _load(path: Path, tmp_path: Path, monkeypatch) -> config_module.Config:
    """Load an example as an operator would after filling in the one file it names (ca_file)."""
    (tmp_path / "bind-password").write_text("s3cret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    data = yaml.safe_load(path.read_text())
    if "ca_file" in data["directory"]:
        ca = tmp_path / "ca.pem"
        ca.write_text("-----BEGIN CERTIFICATE-----\n")
        data["directory"]["ca_file"] = str(ca)
    return config_module.parse(data, str(path), path.parent)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_each_example_parses_and_matches_the_unit(path: Path, tmp_path, monkeypatch):
    config = _load(path, tmp_path, monkeypatch)
    assert config.directory.password is not None and config.directory.password.reveal() == "s3cret"
    credential = re.search(r"^LoadCredential=([^:]+):", UNIT, re.M)
    assert credential and yaml.safe_load(path.read_text())["directory"]["password_file"] == credential[1]
    logs = re.search(r"^LogsDirectory=(\S+)$", UNIT, re.M)
    assert logs and logs[1] == "hwb-agent/%i"
    instance = "cardiff"  # the examples are written for hwb-agent@cardiff
    assert config.logging.audit_file == Path("/var/log") / logs[1].replace("%i", instance) / "audit.jsonl"
    assert "Keys you must change:" in path.read_text()


def test_the_active_directory_example_uses_ldaps_a_ca_and_every_dc(tmp_path, monkeypatch):
    config = _load(REPO / "config" / "example-active-directory.yaml", tmp_path, monkeypatch)
    assert config.directory.flavour.value == "active-directory"
    assert config.directory.url.startswith("ldaps://") and config.directory.ca_file is not None
    assert len(config.directory.domain_controllers) >= 2
    assert all(url.startswith("ldaps://") for url in config.directory.domain_controllers)


def test_the_389ds_example_is_for_389ds(tmp_path, monkeypatch):
    config = _load(REPO / "config" / "example-389ds.yaml", tmp_path, monkeypatch)
    assert config.directory.flavour.value == "389ds" and config.directory.url.startswith("ldaps://")


def test_the_template_documents_every_key_the_agent_reads(tmp_path, monkeypatch):
    """Every key the settings code asks for (recorded while it parses the template) is in the
    template, set or as a commented example (`# key: value`) at its place."""
    asked: set[str] = set()
    original = Reader.raw

    def recording(self: Reader, key: str):
        asked.add(self.where(key))
        return original(self, key)

    monkeypatch.setattr(Reader, "raw", recording)
    _load(TEMPLATE, tmp_path, monkeypatch)
    monkeypatch.setattr(Reader, "raw", original)
    uncommented = "\n".join(
        COMMENTED_KEY.sub(r"\1\2", line) for line in TEMPLATE.read_text().splitlines()
    )
    document = yaml.safe_load(uncommented)

    def present(path: str) -> bool:
        node = document
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    wanted = {path for path in asked if not path.startswith(FREE_FORM)} - NOT_DOCUMENTED
    assert len(wanted) > 60
    assert sorted(path for path in wanted if not present(path)) == []
