"""Notebook 00 says what `make lab`'s background `labkit up` is doing when it finds the lab not yet up."""

from __future__ import annotations

from pathlib import Path

from labkit.lab import _background_start


def test_running_says_it_waits_and_where_the_log_is(tmp_path: Path) -> None:
    (tmp_path / "status").write_text("running\n")
    line = _background_start({"LABKIT_UP_STATUS": str(tmp_path / "status"), "LABKIT_UP_LOG": "build/labkit-up.log"})
    assert line == "`make lab` is starting it in the background (log: build/labkit-up.log): waiting for that to finish.\n"


def test_failed_says_it_tries_again(tmp_path: Path) -> None:
    (tmp_path / "status").write_text("failed 2\n")
    assert "trying again here" in _background_start({"LABKIT_UP_STATUS": str(tmp_path / "status"), "LABKIT_UP_LOG": "x"})


def test_nothing_when_not_started_by_make_lab_or_done(tmp_path: Path) -> None:
    (tmp_path / "status").write_text("ok\n")
    assert _background_start({}) == ""
    assert _background_start({"LABKIT_UP_STATUS": str(tmp_path / "status")}) == ""
    assert _background_start({"LABKIT_UP_STATUS": str(tmp_path / "missing")}) == ""
