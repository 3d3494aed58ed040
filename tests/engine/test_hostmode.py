"""Host mode, run against the sandbox's own daemons standing in for a learner's engine.

The classic daemon plays a Docker Engine 28 with the classic image store; the
multiarch daemon plays a fresh Docker Engine 29 / Desktop install (containerd
image store). Neither can reach Docker Hub, so moby/buildkit cannot be had.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.docker.endpoints import Endpoints
from labkit.engines import host as hostmode
from labkit.experiment import BUILDKIT_IMAGE, REPOSITORY, TAG
from labkit.settings import Settings
from labkit.steps import default_build, dockerfile, inspect_index, multiarch_build
from tests.support.runs import HOST_MODE_PORTS as ENGINES
from tests.support.runs import host_mode_env, run_labkit


@pytest.fixture(params=sorted(ENGINES))
def host(request: pytest.FixtureRequest, endpoints: Endpoints, settings: Settings,
         tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Settings]]:
    engine = str(request.param)
    env = host_mode_env(settings, engine, tmp_path / "state")
    result = run_labkit("up", env=env)
    assert result.returncode == 0, result.stderr
    yield engine, env, Settings.from_env(env)
    assert run_labkit("down", env=env).returncode == 0


def _engine_leftovers(endpoints: Endpoints, engine: str, name: str) -> list[str]:
    client = endpoints.client(engine)
    containers = [c.name for c in client.container.list(all=True)
                  if c.name.startswith("buildx_buildkit_") or hostmode.LABEL in (c.config.labels or {})]
    volumes = [v.name for v in client.volume.list() if v.name.startswith("buildx_buildkit_")]
    networks = [n.name for n in client.network.list() if name in n.name]
    return containers + volumes + networks


def test_doctor_predicts_and_the_run_agrees(host: tuple[str, dict[str, str], Settings]) -> None:
    engine, env, settings = host
    result = run_labkit("doctor", "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    predicted = {p["step"][0]: p["outcome"] for p in report["predictions"]}
    assert report["facts"]["build_engine"]["image_store"] == ("classic" if engine == "classic" else "containerd")
    assert predicted["2"] == ("fails" if engine == "classic" else "succeeds")

    endpoints = hostmode.HostEngine(settings).endpoints()
    workdir = dockerfile.write(settings.state_dir / "work").workdir
    attempt = default_build.build_on_default_builder(endpoints, workdir)
    assert attempt.result.succeeded == (predicted["2"] == "succeeds")
    if engine == "classic":
        assert "Multi-platform build is not supported for the docker driver" in attempt.result.stderr


def test_step_3_says_which_builder_ran_and_why(host: tuple[str, dict[str, str], Settings]) -> None:
    engine, env, settings = host
    endpoints = hostmode.HostEngine(settings).endpoints()
    choice = multiarch_build.prepare_builder(endpoints)
    commands = [c.command for c in choice.commands]
    assert commands[0].startswith("docker buildx create --name multiarch --use --driver-opt network=host")
    assert not choice.commands[1].succeeded  # no moby/buildkit and no internet: bootstrap fails
    assert "moby/buildkit" in choice.why
    if engine == "classic":
        assert choice.path == "none" and not choice.ready
        assert "labkit up --buildkit-tar" in choice.why and "sandbox" in choice.why
    else:
        assert choice.path == "fallback" and choice.ready
        workdir = dockerfile.write(settings.state_dir / "work").workdir
        pushed = multiarch_build.build_and_push(endpoints, workdir)
        assert pushed.result.succeeded, pushed.result.stderr
        report = inspect_index.read_index(endpoints, REPOSITORY, TAG)
        assert report.platforms() == ["linux/amd64", "linux/arm64"]


def test_down_leaves_nothing_of_its_own_on_the_engine(endpoints: Endpoints, settings: Settings, tmp_path: Path) -> None:
    for engine in ENGINES:
        env = host_mode_env(settings, engine, tmp_path / engine)
        assert run_labkit("up", env=env).returncode == 0
        multiarch_build.prepare_builder(hostmode.HostEngine(Settings.from_env(env)).endpoints())
        assert _engine_leftovers(endpoints, engine, f"host-{engine}"), "up created a registry container"
        result = run_labkit("down", env=env)
        assert result.returncode == 0, result.stderr
        assert _engine_leftovers(endpoints, engine, f"host-{engine}") == []
        assert not (tmp_path / engine / "host").exists()


def test_no_engine_answering_is_a_clear_error(settings: Settings, tmp_path: Path) -> None:
    env = {**host_mode_env(settings, "classic", tmp_path / "state"), "LABKIT_DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    result = run_labkit("up", env=env)
    assert result.returncode == 2
    assert "No Docker engine answers" in result.stderr and "try:" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_buildkit_archive_is_loaded_for_air_gapped_machines(endpoints: Endpoints, settings: Settings, tmp_path: Path) -> None:
    client = endpoints.client("classic")
    client.image.pull("busybox", quiet=True)
    client.image.tag("busybox", BUILDKIT_IMAGE)
    archive = tmp_path / "buildkit.tar"
    client.image.save(BUILDKIT_IMAGE, output=archive)
    client.image.remove(BUILDKIT_IMAGE)
    env = host_mode_env(settings, "classic", tmp_path / "state")
    try:
        result = run_labkit("up", "--buildkit-tar", str(archive), env=env)
        assert result.returncode == 0, result.stderr
        report = json.loads(run_labkit("doctor", "--json", env=env).stdout)
        assert report["facts"]["buildkit_image_present"] is True
        step3 = next(p for p in report["predictions"] if p["step"].startswith("3"))
        assert step3["outcome"] == "succeeds" and "already loaded" in step3["why"]
    finally:
        run_labkit("down", env=env)
        client.image.remove(BUILDKIT_IMAGE, force=True)
