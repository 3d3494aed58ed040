"""Lock files: a second holder says that it waits, then waits until the first lets go."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from labkit.system.files import exclusive


def test_a_second_holder_says_it_waits_then_waits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = tmp_path / "cache" / "lock"
    entered = threading.Event()

    def second() -> None:
        with exclusive(lock, "someone else holds it; waiting"):
            entered.set()

    with exclusive(lock, "unused"):
        thread = threading.Thread(target=second)
        thread.start()
        assert not entered.wait(0.5), "the second holder entered while the first held the lock"
    thread.join(5)
    assert entered.is_set()
    assert "labkit: someone else holds it; waiting" in capsys.readouterr().err


def test_an_unheld_lock_is_taken_silently(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with exclusive(tmp_path / "lock", "never printed"):
        pass
    assert capsys.readouterr().err == ""
