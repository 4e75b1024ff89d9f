"""Fixtures of the pure MIS tests (the builders are in tests/actions/mis/support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.actions.mis.support import SAMPLES


@pytest.fixture
def samples() -> Path:
    return SAMPLES
