"""Every variant, for real: the eight platforms built, pushed and run, `exec format error` in a binfmt_misc of its
own, `--load` on both image stores, emulated and cross builds, reproducible digests and what breaks them."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from labkit.docker.endpoints import Endpoints
from labkit.errors import LabError
from labkit.experiment import DOCKERFILE
from labkit.results import PushResult
from labkit.settings import DEBIAN_PLATFORMS, Settings
from labkit.steps import cross_build, every_variant, exec_format, load_build, reproducible
from labkit.system import binfmt

UNAME = {"linux/amd64": "x86_64", "linux/arm64": "aarch64", "linux/arm/v5": "armv7l", "linux/arm/v7": "armv7l",
         "linux/386": "x86_64", "linux/ppc64le": "ppc64le", "linux/riscv64": "riscv64", "linux/s390x": "s390x"}


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    return tmp_path


@pytest.fixture(scope="module")
def every(endpoints: Endpoints, settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, PushResult]:
    """The experiment's image built and pushed for every platform of the base image, under a tag of its own."""
    folder = tmp_path_factory.mktemp("every")
    (folder / "Dockerfile").write_text(DOCKERFILE)
    tag = f"every-{uuid.uuid4().hex[:8]}"
    pushed = every_variant.build_every(endpoints, folder, tuple(DEBIAN_PLATFORMS[arch] for arch in settings.base_arches), tag)
    assert pushed.result.succeeded, pushed.result.stderr
    return tag, pushed


def test_every_platform_of_the_base_image_builds_and_each_variant_runs(endpoints: Endpoints, settings: Settings,
                                                                         every: tuple[str, PushResult]) -> None:
    platforms = tuple(DEBIAN_PLATFORMS[arch] for arch in settings.base_arches)
    every_tag, pushed = every
    runs = {run.platform: run for run in every_variant.run_every(endpoints, pushed.image_ref, every_tag)}
    assert {platform: run.uname for platform, run in runs.items()} == {p: UNAME[p] for p in platforms}
    assert [p for p, run in runs.items() if not run.emulator] == [p for p in platforms if p in ("linux/amd64", "linux/386")]
    assert runs["linux/arm64"].emulator == "qemu-aarch64" and "F" in runs["linux/arm64"].flags
    assert runs["linux/arm/v5"].machine_code == runs["linux/arm/v7"].machine_code == "ARM"
    ran, picked = every_variant.run_default(endpoints, pushed.image_ref)
    assert (ran.stdout, picked.stdout) == ("x86_64", "linux/amd64")


def test_exec_format_error_without_an_emulator_and_its_fix_leave_the_machine_alone(endpoints: Endpoints, tmp_path: Path,
                                                                                    every: tuple[str, PushResult]) -> None:
    every_tag = every[0]
    before = binfmt.entries()
    demo = exec_format.exec_format_error(endpoints, tmp_path, "linux/arm64", every_tag)
    assert demo.without.return_code == 126 and "Exec format error" in demo.without.stdout
    assert demo.without.stdout.startswith("register\nstatus\n")
    assert demo.with_emulator.succeeded and demo.with_emulator.stdout == "qemu-aarch64\nregister\nstatus\naarch64\n"
    assert binfmt.entries() == before and demo.machine_entries_before == demo.machine_entries_after
    with pytest.raises(LabError, match="No binfmt_misc entry of this machine matches linux/amd64"):
        exec_format.exec_format_error(endpoints, tmp_path, "linux/amd64", every_tag)


def test_load_of_two_platforms_is_refused_on_the_classic_store_and_kept_whole_on_containerd(endpoints: Endpoints,
                                                                                            workdir: Path) -> None:
    classic = load_build.load(endpoints, workdir, endpoints.classic_context)
    assert classic.error == ("ERROR: failed to build: docker exporter does not currently support exporting manifest lists",)
    loaded = load_build.load(endpoints, workdir, endpoints.multiarch_context)
    assert loaded.result.succeeded and [run.stdout for run in loaded.runs] == ["x86_64", "aarch64"]


def test_the_emulated_run_step_runs_the_targets_code_and_the_cross_one_the_build_platforms(endpoints: Endpoints,
                                                                                          tmp_path: Path) -> None:
    emulated = cross_build.build_timed(endpoints, tmp_path / "emulated", "emulated")
    cross = cross_build.build_timed(endpoints, tmp_path / "cross", "cross")
    assert [run.stdout for run in emulated.runs] == ["x86_64", "aarch64"]
    assert [run.stdout for run in cross.runs] == ["x86_64\nx86_64", "aarch64\nx86_64"]


def test_two_builds_from_an_empty_cache_give_one_digest_unless_time_gets_in(endpoints: Endpoints, tmp_path: Path) -> None:
    refused, error = reproducible.image_exporter(endpoints, tmp_path)
    assert not refused.succeeded and 'exporter option "rewrite-timestamp" conflicts with "unpack"' in error[-1]
    first, second = reproducible.build_twice(endpoints, tmp_path, ("a", "b"))
    assert first.index.served_digest == second.index.served_digest and first.index.platforms() == ["linux/amd64", "linux/arm64"]
    assert all(newest == 0 for _, newest in first.top_layer_times)
    assert reproducible.push(endpoints, tmp_path, "a", tag=f"repro-{uuid.uuid4().hex[:8]}") == first.index.served_digest
    timed = reproducible.build_twice(endpoints, tmp_path, ("c", "d"), rewrite_timestamp=False)
    assert timed[0].index.served_digest != timed[1].index.served_digest
    assert all(newest > 0 for _, newest in timed[0].top_layer_times)
    attested = reproducible.build_twice(endpoints, tmp_path, ("e", "f"), provenance=True)
    assert attested[0].index.served_digest != attested[1].index.served_digest
    assert attested[0].index.platforms() == attested[1].index.platforms() == first.index.platforms()
    assert "predicate.metadata.buildStartedOn" in reproducible.differing_fields(attested[0], attested[1])
