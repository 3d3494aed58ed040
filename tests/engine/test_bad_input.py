"""Bad input against the real engine: a LabError that says what to try, never a traceback, and nothing changed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from labkit.docker.endpoints import Endpoints
from labkit.errors import LabError
from labkit.oci.registry import Registry
from labkit.settings import RegistryAddress
from labkit.steps import default_build, dockerfile, inspect_index, multiarch_build
from tests.support.runs import run_labkit


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    return dockerfile.write(tmp_path / "work").workdir


def _images(endpoints: Endpoints) -> set[str]:
    return {tag for image in endpoints.classic.image.list() for tag in image.repo_tags}


def test_bad_platforms_and_tags_change_nothing(endpoints: Endpoints, workdir: Path) -> None:
    before = _images(endpoints)
    for call in (
        lambda: default_build.build_on_default_builder(endpoints, workdir, platforms=("linux/amd64,linux/arm64",)),
        lambda: default_build.build_on_default_builder(endpoints, workdir, platforms=("linux/arm/v9",)),
        lambda: default_build.build_on_default_builder(endpoints, workdir, platforms=()),
        lambda: default_build.build_on_default_builder(endpoints, workdir, tag="Demo:Multi"),
        lambda: multiarch_build.build_and_push(endpoints, workdir, tag="bad tag"),
        lambda: multiarch_build.build_and_push(endpoints, workdir, platforms=("linux/arm/v9",)),
    ):
        with pytest.raises(LabError):
            call()
    assert _images(endpoints) == before


def test_a_missing_folder_or_dockerfile_is_refused(endpoints: Endpoints, tmp_path: Path) -> None:
    with pytest.raises(LabError, match="does not exist"):
        default_build.build_on_default_builder(endpoints, tmp_path / "missing")
    with pytest.raises(LabError, match="no Dockerfile"):
        multiarch_build.build_and_push(endpoints, tmp_path)


def test_unknown_context_and_builder_names_are_refused(endpoints: Endpoints, workdir: Path) -> None:
    with pytest.raises(LabError, match="no Docker context called 'nope'") as raised:
        default_build.build_on_default_builder(endpoints, workdir, context="nope")
    assert "classic" in raised.value.next_step
    with pytest.raises(LabError, match="no builder called 'nope'") as raised:
        multiarch_build.bootstrap(endpoints, "nope")
    assert "multiarch" in raised.value.next_step


def test_a_registry_that_does_not_answer_is_named(endpoints: Endpoints) -> None:
    silent = replace(endpoints, registry=RegistryAddress("127.0.0.1", 1))
    with pytest.raises(LabError) as raised:
        inspect_index.read_index(silent, "demo", "multi")
    assert "127.0.0.1:1 does not answer" in raised.value.what
    assert not Registry(RegistryAddress("127.0.0.1", 1)).ping()


def test_the_command_line_refuses_bad_input_without_a_traceback() -> None:
    for args, code in ((["env", "nope"], 2), (["frobnicate"], 2)):
        result = run_labkit(*args)
        assert result.returncode == code and "Traceback" not in result.stderr and "usage:" in result.stderr
    result = run_labkit("status", env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "LABKIT_REGISTRY_PORT": "http"})
    assert result.returncode == 2 and "LABKIT_REGISTRY_PORT" in result.stderr and "Traceback" not in result.stderr
