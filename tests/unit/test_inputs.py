"""Bad input is refused before anything runs, with a message that says what was wrong and what to try."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.errors import LabError
from labkit.steps import inputs


@pytest.mark.parametrize("value, says", [
    (("linux/amd64,linux/arm64",), "several platforms in one item"),
    ("linux/amd64,linux/arm64", "one string"),
    (("linux/arm/v9",), "linux/arm has the variants v5, v6, v7"),
    (("linux/amd65",), "os/architecture[/variant]"),
    (("",), "os/architecture[/variant]"),
    ((), "No platform"),
    (("amd64",), "os/architecture[/variant]"),
])
def test_bad_platforms_are_refused_with_a_next_step(value: tuple[str, ...], says: str) -> None:
    with pytest.raises(LabError) as raised:
        inputs.platforms(value)
    assert says in str(raised.value)
    assert raised.value.next_step


def test_good_platforms_pass_unchanged() -> None:
    assert inputs.platforms(("linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm64/v8")) == (
        "linux/amd64", "linux/arm64", "linux/arm/v7", "linux/arm64/v8")


@pytest.mark.parametrize("ref", ["Demo:multi", "demo:", "demo:multi:x", "demo multi", "-demo", "demo:" + "x" * 129, ""])
def test_bad_image_references_are_refused(ref: str) -> None:
    with pytest.raises(LabError) as raised:
        inputs.image_ref(ref)
    assert "not a valid image reference" in raised.value.what


@pytest.mark.parametrize("ref", ["demo:multi", "127.0.0.1:5000/demo:multi", "demo", "library/busybox:latest",
                                 "registry.example.com/team/app_1:v1.2-rc"])
def test_good_image_references_pass(ref: str) -> None:
    assert inputs.image_ref(ref) == ref


def test_a_missing_build_folder_or_dockerfile_points_to_step_1(tmp_path: Path) -> None:
    with pytest.raises(LabError) as missing_folder:
        inputs.build_folder(tmp_path / "nope")
    with pytest.raises(LabError) as missing_file:
        inputs.build_folder(tmp_path)
    assert "does not exist" in missing_folder.value.what and "no Dockerfile" in missing_file.value.what
    assert "notebook 01" in missing_folder.value.next_step and "notebook 01" in missing_file.value.next_step
