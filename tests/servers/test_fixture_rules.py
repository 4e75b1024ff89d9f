"""A missing server skips the real-server tests locally but fails them under CI."""

from __future__ import annotations

import pytest

from tests import conftest


def test_missing_server_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        conftest._require(None, "nothing here")

def test_missing_server_skips_locally(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        conftest._require(None, "nothing here")
