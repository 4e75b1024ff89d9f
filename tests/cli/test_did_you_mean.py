"""A misspelled uid gets up to three close matches ("did you mean"), read only when the lookup fails."""

from __future__ import annotations

import pytest

from agent.actions import lookup
from agent.cli import main
from tests.builders import write_config


def test_a_misspelled_uid_suggests_the_close_ones(tmp_path, capsys):
    config = write_config(tmp_path)
    assert main(["--config", str(config), "show", "frees0239"]) == 2
    err = capsys.readouterr().err
    assert "no account with uid 'frees0239'" in err and "did you mean " in err
    suggested = err.split("did you mean ", 1)[1].rstrip("?\n").split(", ")
    assert "frees0238" in suggested and len(suggested) <= 3


def test_case_does_not_hide_a_match_and_nothing_alike_suggests_nothing(tmp_path, capsys):
    config = write_config(tmp_path)
    assert main(["--config", str(config), "activate", "FREES238", "--by", "a"]) == 2
    assert "did you mean frees0238" in capsys.readouterr().err
    assert main(["--config", str(config), "show", "qqqqqqqqqqqqqqqq"]) == 2
    err = capsys.readouterr().err
    assert "no account with uid 'qqqqqqqqqqqqqqqq'" in err and "did you mean" not in err


def test_uids_are_read_only_when_the_lookup_fails(tmp_path, capsys, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("close_uids read although the uid was found")

    monkeypatch.setattr(lookup, "close_uids", fail)
    config = write_config(tmp_path)
    assert main(["--config", str(config), "show", "frees0238"]) == 0
    with pytest.raises(AssertionError):
        main(["--config", str(config), "show", "frees0239"])
