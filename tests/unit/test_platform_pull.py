"""Notebook 05's pull-then-run and build-time views: what they say of a pull that moved the tag, one that did not,
and of two timed builds."""

from __future__ import annotations

from labkit.results import CommandResult, PlatformPull, TimedBuild
from labkit.views.variants import build_times, pull_text

REF = "127.0.0.1:5000/demo:every"
INSPECT = f"docker image inspect --format '{{{{.Os}}/{{{{.Architecture}}}}' {REF}"


def _result(context: str, command: str, stdout: str = "", stderr: str = "") -> CommandResult:
    return CommandResult(context, command, 0, stdout, stderr)


def _pull(context: str, before: str, uname: str, picked: str, restore: CommandResult | None) -> PlatformPull:
    return PlatformPull(REF, "linux/arm64", before,
                        _result(context, f"docker pull --quiet --platform linux/arm64 {REF}", REF),
                        _result(context, f"docker run --rm --network none {REF} uname -m", uname),
                        picked != "linux/amd64", _result(context, INSPECT, picked), restore)


def test_a_pull_that_moved_the_tag_shows_the_run_the_warning_and_how_it_was_put_back() -> None:
    removed = _result("classic", f"docker image rm {REF}", f"Untagged: {REF}")
    pulled = _pull("classic", "", "aarch64", "linux/arm64", removed)
    assert pulled.moved
    assert pull_text(pulled).splitlines() == [
        f"before the pull: no image tagged {REF} on this engine",
        f"[classic] $ docker pull --quiet --platform linux/arm64 {REF}", "exit code 0",
        f"[classic] $ docker run --rm --network none {REF} uname -m", "exit code 0", "aarch64",
        "(the engine warned: the image's platform, linux/arm64, does not match the host's, and no platform was "
        "requested)",
        f"[classic] $ {INSPECT}", "exit code 0", "linux/arm64",
        f"put back as it was: [classic] $ docker image rm {REF}", "exit code 0",
    ]


def test_a_pull_that_left_the_tag_says_there_was_nothing_to_put_back() -> None:
    pulled = _pull("multiarch", "linux/amd64", "x86_64", "linux/amd64", None)
    said = pull_text(pulled).splitlines()
    assert not pulled.moved
    assert said[0] == "before the pull: `docker image inspect` gives linux/amd64"
    assert said[-1] == "the pull left the tag as it was: nothing to put back"
    assert not any("warned" in line for line in said)


def test_build_times_give_each_build_over_the_fastest() -> None:
    def timed(seconds: float) -> TimedBuild:
        return TimedBuild(_result("multiarch", "docker buildx build ."), seconds, "FROM busybox\n", ())

    table = build_times({"emulated": timed(8.4), "cross": timed(0.7)}).frame
    assert table.values.tolist() == [["emulated", "8.40", "12.0"], ["cross", "0.70", "1.0"]]
