"""Showing a docker command as typed, and extracting the error from stderr captured on the lab's classic daemon."""

import json
from pathlib import Path
from typing import Any

from labkit.docker.commands import display, error_lines
from labkit.results import CommandResult
from tests.conftest import DATA

CAPTURES: dict[str, Any] = json.loads((DATA / "build-captures.json").read_text())


def _stderr(name: str) -> str:
    return (DATA / name).read_text()


def test_display_matches_each_command_as_typed() -> None:
    for name, capture in CAPTURES.items():
        if name.startswith("_"):
            continue
        assert display(capture["args"], Path(capture["workdir"]), capture["env"]) == capture["typed"], name


def test_display_keeps_the_folder_when_no_workdir_is_given() -> None:
    assert display(["build", "/tmp/labwork"]) == "docker build /tmp/labwork"


def test_display_only_replaces_the_exact_workdir_argument() -> None:
    shown = display(["build", "-f", "/tmp/labwork/Dockerfile", "/tmp/labwork"], Path("/tmp/labwork"))
    assert shown == "docker build -f /tmp/labwork/Dockerfile ."


def test_display_quotes_env_values_and_arguments_for_the_shell() -> None:
    shown = display(["run", "busybox", "echo", "a b"], env={"GREETING": "hello world", "EMPTY": ""})
    assert shown == "GREETING='hello world' EMPTY='' docker run busybox echo 'a b'"


def test_buildkit_refusal_keeps_every_message_line() -> None:
    lines = error_lines(_stderr("build-classic-buildkit.stderr"))
    assert lines[0] == "ERROR: failed to build: Multi-platform build is not supported for the docker driver."
    assert lines == [line for line in _stderr("build-classic-buildkit.stderr").splitlines() if line.strip()]


def test_progress_plain_does_not_change_a_refusal_before_the_build_starts() -> None:
    plain = error_lines(_stderr("build-classic-buildkit-plain.stderr"))
    assert plain == error_lines(_stderr("build-classic-buildkit.stderr"))


def test_legacy_builder_error_keeps_the_deprecation_banner_as_evidence() -> None:
    raw = _stderr("build-classic-legacy.stderr")
    assert raw.startswith("DEPRECATED:")
    lines = error_lines(raw)
    assert lines[0] == "DEPRECATED: The legacy builder is deprecated and will be removed in a future release."
    assert lines[1].strip().startswith("BuildKit is currently disabled") and lines[2].strip() == "environment-variable."
    assert len(lines) == 4 and lines[3].startswith("Error response from daemon: ")
    assert '"linux/amd64,linux/arm64"' in lines[3]


def _build(stderr: str) -> CommandResult:
    return CommandResult("classic", "docker build --progress plain .", 1, "", stderr)


def test_the_builder_line_names_the_builder_and_its_driver() -> None:
    assert _build(_stderr("build-classic-run-fails-plain.stderr")).builder_line == \
        '#0 building with "classic" instance using docker driver'
    assert _build(_stderr("build-classic-buildkit-plain.stderr")).builder_line == ""  # refused before a builder was chosen


def test_progress_capture_really_contains_progress_lines() -> None:
    raw = _stderr("build-classic-run-fails-plain.stderr").splitlines()
    assert raw[0].startswith('#0 building with "classic" instance')
    assert any(line.startswith("#5 ERROR: ") for line in raw)


def test_progress_lines_are_dropped() -> None:
    lines = error_lines(_stderr("build-classic-run-fails-plain.stderr"))
    assert lines
    assert not any(line.startswith("#") for line in lines)


def test_indented_dockerfile_excerpt_is_dropped() -> None:
    lines = error_lines(_stderr("build-classic-run-fails-plain.stderr"))
    assert not any(line.startswith(" ") for line in lines)


def test_final_error_line_is_kept() -> None:
    raw = _stderr("build-classic-run-fails-plain.stderr").splitlines()
    final = [line for line in raw if line.startswith("ERROR:")]
    assert len(final) == 1
    assert final[0] in error_lines("\n".join(raw))
    assert error_lines("\n".join(raw))[-1] == final[0]


def test_trailing_whitespace_is_stripped() -> None:
    assert error_lines("ERROR: boom   \r\n\n") == ["ERROR: boom"]


def test_a_failed_run_step_keeps_only_the_final_error() -> None:
    lines = error_lines(_stderr("build-classic-run-fails-plain.stderr"))
    assert len(lines) == 1 and lines[0].startswith("ERROR: failed to build")
