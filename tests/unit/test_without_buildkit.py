"""Notebook 06 offline: what podman's captured output is reduced to, where its configuration points, and the modes
in which the lab brings no podman."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from labkit import engines
from labkit.docker.endpoints import Endpoints
from labkit.errors import LabError
from labkit.provision import podman as podman_provision
from labkit.results import CommandResult
from labkit.settings import RegistryAddress, Settings
from labkit.views import index_comparison

DATA = Path(__file__).resolve().parents[1] / "data"
REGISTRY = RegistryAddress("127.0.0.1", 5000)


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(name="t", cache_dir=tmp_path / "cache", state_dir=tmp_path / "state", run_dir=tmp_path / "run")


def test_podman_output_keeps_the_build_steps_sorted_and_drops_ids_and_pulls() -> None:
    build = CommandResult("podman", "podman build", 0, (DATA / "podman-build.stdout").read_text(),
                          (DATA / "podman-build.stderr").read_text())
    assert index_comparison.podman_output(build).splitlines() == [
        "[linux/amd64] STEP 1/2: FROM busybox",
        '[linux/amd64] STEP 2/2: CMD ["echo", "Hello from multi-arch image"]',
        "[linux/arm64] STEP 1/2: FROM busybox",
        '[linux/arm64] STEP 2/2: CMD ["echo", "Hello from multi-arch image"]',
    ]
    push = CommandResult("podman", "podman manifest push", 0, "", (DATA / "podman-manifest-push.stderr").read_text())
    assert index_comparison.podman_output(push) == "Writing manifest list to image destination"


def test_every_path_podman_is_given_is_the_labs(settings: Settings) -> None:
    root = podman_provision.cache_dir(settings) / "root"
    texts = [podman_provision.storage_conf(settings), podman_provision.wrapper(settings, root),
             *podman_provision.podman_env(settings, root).values()]
    paths = [word.strip("'\"=,[]") for text in texts for word in text.replace("=", " ").split() if "/" in word]
    ours = (settings.cache_dir, settings.state_dir)
    foreign = {p for p in paths if p.startswith("/") and not any(Path(p).is_relative_to(f) for f in ours)}
    assert foreign - {podman_provision.podman_env(settings, root)["PATH"]} == {
        "/var/lib", "/var/cache", "/var/tmp", "/run", "/run/containers/storage"}  # inside podman's own mount namespace


def test_in_the_rootless_sandbox_podman_enters_its_namespaces_by_the_holder_it_names(settings: Settings) -> None:
    root = podman_provision.cache_dir(settings) / "root"
    holder_file = settings.state_dir / "rootlesskit" / "child_pid"
    script = podman_provision.wrapper(settings, root, holder_file)
    assert f"holder=$(cat '{holder_file}'" in script
    assert "exec $enter unshare --mount" in script and "--user --mount --net" in script
    assert "nsenter" not in podman_provision.wrapper(settings, root)


def test_registries_conf_mirrors_docker_io_to_the_labs_registry() -> None:
    text = podman_provision.registries_conf(REGISTRY, REGISTRY)
    assert 'prefix = "docker.io"' in text and text.count('location = "127.0.0.1:5000"') == 2
    assert "mirror" not in podman_provision.registries_conf(REGISTRY, None)


def test_no_podman_in_host_mode_and_nothing_written(settings: Settings) -> None:
    endpoints = Endpoints(Path("docker"), settings.docker_config, "classic", "multiarch", REGISTRY)
    with pytest.raises(LabError) as raised:
        engines.choose(dataclasses.replace(settings, mode="host")).podman(endpoints)
    assert "podman" in raised.value.what and "podman >= 4" in raised.value.next_step
    assert not settings.cache_dir.exists() and not settings.state_dir.exists()
