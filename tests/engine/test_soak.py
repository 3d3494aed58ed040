"""The soak can fail: a check that goes wrong inside a fault is counted as failed, a blob erased from an earlier
round is counted as lost, and either makes it exit non-zero. Each runs real rounds in a soak sandbox of its own."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from bench.soak import CheckFailed, Soak, run
from labkit.docker.endpoints import Endpoints
from labkit.engines import own


class WrongCheck(Soak):
    """A fault whose own check is wrong: it kills the registry, then insists that the registry still answers."""

    FAULTS = ("kill_registry_and_expect_it_up",)

    def kill_registry_and_expect_it_up(self, tag: str) -> None:
        os.kill(self.pid("registry"), signal.SIGKILL)
        if not own.answers(self.settings, "registry"):
            raise CheckFailed("the registry does not answer")


class ErasesEarlierBlobs(Soak):
    """A fault that erases, behind the lab's back, the bytes of the index pushed in an earlier round."""

    FAULTS = ("erase_earlier_indexes",)

    def erase_earlier_indexes(self, tag: str) -> None:
        blobs = self.settings.service_dir("registry") / "data" / "docker" / "registry" / "v2" / "blobs" / "sha256"
        for content in self.pushed.values():
            for digest, kind in content.items():
                if kind == "index":
                    (blobs / digest[7:9] / digest[7:] / "data").unlink()


@pytest.mark.parametrize(("soak_class", "rounds", "expected"), [
    (WrongCheck, 1, "injected=1 recovered=0 failed=1 lost=0 leftover=0"),
    (ErasesEarlierBlobs, 2, "injected=2 recovered=2 failed=0 lost=1 leftover=0"),
])
def test_the_soak_counts_what_went_wrong_and_fails(soak_class: type[Soak], rounds: int, expected: str, endpoints: Endpoints,
                                                  tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exit_code = run(soak_class(tmp_path / "soak", port=5093), rounds=rounds, seed=1)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last == f"rounds={rounds} {expected}"
    assert exit_code == 1
