"""make bench-platforms, offline: where the time of a build goes, from BuildKit's rawjson progress.

data/build-2-platforms.rawjson is `docker buildx build --progress=rawjson --platform linux/amd64,linux/arm64 --push`
of the experiment's Dockerfile on the sandbox's multiarch daemon (Docker 28.5.2), from an empty builder cache.
"""

from __future__ import annotations

from bench import platforms
from tests.conftest import DATA

RAWJSON = (DATA / "build-2-platforms.rawjson").read_text()


def test_every_phase_of_a_captured_build_took_some_time_and_the_client_the_rest() -> None:
    found = platforms.phases(RAWJSON, wall=10.0)
    assert list(found) == list(platforms.PHASES)
    assert all(found[phase] > 0 for phase in platforms.PHASES[:5]), found
    solve = 10.0 - found["client (outside the solve)"]
    assert 0 < solve < 10.0 and sum(found[phase] for phase in platforms.PHASES[:-1]) <= solve * 2


def test_overlapping_steps_count_once() -> None:
    assert platforms._union([(0.0, 1.0), (0.5, 1.5), (3.0, 4.0)]) == 2.5
    assert platforms._time("2026-11-30T10:57:48.039869832Z") - platforms._time("2026-11-30T10:57:48Z") < 0.04


def test_the_fit_splits_fixed_and_per_platform_time() -> None:
    fixed, per_platform = platforms._fit({2: 1.0, 4: 1.5, 8: 2.5})
    assert (round(fixed, 6), round(per_platform, 6)) == (0.5, 0.25)
