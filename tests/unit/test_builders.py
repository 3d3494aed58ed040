"""Parsing `docker buildx ls --format json`, over the lines captured from the lab's real CLI."""

import json

from labkit.docker.builders import parse_buildx_ls
from labkit.results import Builder
from tests.conftest import DATA

CAPTURE = (DATA / "buildx-ls.jsonl").read_text()


def _by_name() -> dict[str, Builder]:
    return {b.name: b for b in parse_buildx_ls(CAPTURE)}


def test_every_builder_is_listed_in_cli_order() -> None:
    assert [b.name for b in parse_buildx_ls(CAPTURE)] == ["classic", "multiarch", "default"]


def test_drivers_are_read_per_builder() -> None:
    assert {name: b.driver for name, b in _by_name().items()} == {"classic": "docker", "multiarch": "docker", "default": ""}


def test_running_builders_report_status_and_buildkit_version() -> None:
    builders = _by_name()
    for name in ("classic", "multiarch"):
        assert builders[name].status == "running"
        assert builders[name].buildkit == "v0.0.0+unknown"
        assert builders[name].error == ""


def test_platforms_are_the_first_node_platforms_in_order() -> None:
    raw = {item["Name"]: item for item in map(json.loads, CAPTURE.splitlines())}
    for name, found in _by_name().items():
        expected = tuple(raw[name]["Nodes"][0].get("Platforms") or ())
        assert found.platforms == expected


def test_both_running_builders_offer_amd64_and_arm64() -> None:
    builders = _by_name()
    for name in ("classic", "multiarch"):
        assert {"linux/amd64", "linux/arm64"} <= set(builders[name].platforms)


def test_builder_with_an_error_is_marked_error_and_keeps_the_message() -> None:
    default = _by_name()["default"]
    assert default.status == "error"
    assert default.error.startswith("Cannot connect to the Docker daemon")
    assert default.platforms == ()
    assert default.buildkit == ""


def test_blank_lines_are_ignored() -> None:
    padded = "\n\n" + CAPTURE.replace("\n", "\n   \n") + "\n"
    assert parse_buildx_ls(padded) == parse_buildx_ls(CAPTURE)


def test_empty_output_means_no_builders() -> None:
    assert parse_buildx_ls("") == []
