"""Notebook 05's claims, on the sandbox: a `docker pull --platform` re-points the tag on the classic image store
only (and the step puts it back), and the emulated build is slower than the cross build."""

from __future__ import annotations

from pathlib import Path

from labkit.docker.commands import run_docker
from labkit.docker.endpoints import Endpoints
from labkit.steps import cross_build, every_variant, inspect_index


def _platform(endpoints: Endpoints, context: str, ref: str) -> str:
    found = run_docker(endpoints, context, [*every_variant.PICKED, ref])
    return found.stdout.strip() if found.succeeded else ""


def test_a_pull_for_another_platform_moves_the_tag_on_the_classic_store_and_not_on_containerd(
        endpoints: Endpoints) -> None:
    ref = inspect_index.base_image(endpoints).image_ref
    before = {context: _platform(endpoints, context, ref)
              for context in (endpoints.classic_context, endpoints.multiarch_context)}
    classic = every_variant.pull_then_run(endpoints, endpoints.classic_context, ref)
    assert classic.pull.succeeded and classic.run.stdout == "aarch64" and classic.warned
    assert classic.picked.stdout == "linux/arm64" and classic.moved
    assert classic.restore is not None and classic.restore.succeeded
    multiarch = every_variant.pull_then_run(endpoints, endpoints.multiarch_context, ref)
    assert multiarch.pull.succeeded and multiarch.run.stdout == "x86_64" and not multiarch.warned
    assert multiarch.picked.stdout == "linux/amd64"
    assert {context: _platform(endpoints, context, ref) for context in before} == before


def test_the_emulated_build_is_clearly_slower_than_the_cross_build(endpoints: Endpoints, tmp_path: Path) -> None:
    emulated = cross_build.build_timed(endpoints, tmp_path / "emulated", "emulated")
    cross = cross_build.build_timed(endpoints, tmp_path / "cross", "cross")
    assert emulated.result.succeeded and cross.result.succeeded
    assert emulated.seconds > 2 * cross.seconds, (emulated.seconds, cross.seconds)
