"""The doctor's predictions over captured real outputs of four engine configurations.

tests/data/engines/<config>/ holds `docker info --format json` and `docker buildx ls --format json`:
- classic-store: Docker 28 with the classic image store (the default builder uses the docker driver);
- containerd-store: Docker 28 with the containerd image store (the default of fresh Engine 29 / Desktop 4.34+);
- docker-container-builder: the classic store, after the experiment's `docker buildx create --use`;
- no-engine: the CLI with no engine answering.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from labkit.diagnostics.doctor import predict, predict_notebooks
from labkit.docker.facts import parse_info
from labkit.results import Facts
from tests.support.captured import ENGINES, facts_of


def outcomes(facts: Facts) -> dict[str, str]:
    return {p.step[0]: p.outcome for p in predict(facts)}


def test_engine_facts_are_read_from_docker_info() -> None:
    classic = parse_info((ENGINES / "classic-store" / "info.json").read_text())
    containerd = parse_info((ENGINES / "containerd-store" / "info.json").read_text())
    assert (classic.image_store, containerd.image_store) == ("classic", "containerd")
    assert classic.engine_version.startswith("28.") and classic.buildx_version.startswith("0.")
    assert classic.answers and classic.error == ""


def test_no_engine_is_reported_not_guessed() -> None:
    facts = facts_of("no-engine")
    assert not facts.build_engine.answers and facts.build_engine.image_store == "unknown"
    assert facts.build_engine.cli_version  # the CLI still answers
    assert outcomes(facts)["2"] == "unknown" and outcomes(facts)["3"] == "unknown"


def test_classic_store_offline_predicts_the_failure_and_no_way_to_step_3() -> None:
    facts = facts_of("classic-store")
    assert facts.current_builder is not None and facts.current_builder.driver == "docker"
    predicted = outcomes(facts)
    assert predicted["2"] == "fails" and predicted["3"] == "fails" and predicted["4"] == "fails"
    why3 = next(p.why for p in predict(facts) if p.step.startswith("3"))
    assert "--buildkit-tar" in why3


def test_classic_store_with_internet_or_a_loaded_buildkit_reaches_step_3() -> None:
    for overrides in ({"docker_hub_reachable": True}, {"buildkit_image_present": True}):
        predicted = outcomes(facts_of("classic-store", **overrides))
        assert predicted["2"] == "fails" and predicted["3"] == "succeeds"


def test_containerd_store_predicts_that_step_2_succeeds_and_says_why() -> None:
    facts = facts_of("containerd-store")
    assert outcomes(facts)["2"] == "succeeds"
    why = next(p.why for p in predict(facts) if p.step.startswith("2"))
    assert "containerd image store" in why
    assert outcomes(facts)["3"] == "succeeds"  # falls back to the default builder
    assert "falls back" in next(p.why for p in predict(facts) if p.step.startswith("3"))


def test_a_docker_container_builder_in_use_makes_step_2_succeed() -> None:
    facts = facts_of("docker-container-builder")
    assert facts.current_builder is not None and facts.current_builder.driver == "docker-container"
    assert outcomes(facts)["2"] == "succeeds"


def test_the_sandbox_uses_its_multiarch_daemon_for_step_3() -> None:
    classic = parse_info((ENGINES / "classic-store" / "info.json").read_text())
    containerd = parse_info((ENGINES / "containerd-store" / "info.json").read_text())
    facts = facts_of("classic-store", mode="sandbox", multiarch_engine=containerd, creates_builder=False)
    assert facts.build_engine == classic
    assert outcomes(facts) == {"1": "succeeds", "2": "fails", "3": "succeeds", "4": "succeeds", "r": "succeeds"}


@pytest.mark.parametrize("qemu, outcome", [(("qemu-aarch64",), "succeeds"), ((), "fails")])
def test_running_the_other_architecture_needs_qemu(qemu: tuple[str, ...], outcome: str) -> None:
    assert outcomes(facts_of("classic-store", qemu=qemu))["r"] == outcome


def _notebooks(facts: Facts) -> dict[str, str]:
    return {n.notebook[:2]: n.outcome for n in predict_notebooks(facts, predict(facts))}


def test_notebook_01_needs_docker_hub_without_a_mirror() -> None:
    """On an engine with no mirror and no internet, step 1 only writes a file, yet notebook 01 reads busybox's index
    from Docker Hub: the doctor says so, so prediction and run agree."""
    offline = facts_of("containerd-store")
    assert outcomes(offline)["1"] == "succeeds" and _notebooks(offline)["01"] == "fails"
    assert _notebooks(replace(offline, has_mirror=True)) == dict.fromkeys(("00", "01", "02", "03", "04", "05", "08"), "succeeds")
    assert _notebooks(replace(offline, docker_hub_reachable=True))["01"] == "succeeds"


def test_notebooks_03_and_04_stop_where_step_3_cannot_build() -> None:
    classic = replace(facts_of("classic-store"), has_mirror=True)
    assert _notebooks(classic) == {"00": "succeeds", "01": "succeeds", "02": "succeeds", "03": "fails", "04": "fails",
                                 "05": "fails", "08": "fails"}
    assert _notebooks(facts_of("no-engine"))["00"] == "fails"
