"""Notebook 06's steps for real: podman from Debian's packages builds and pushes a manifest list, imagetools create
and docker manifest assemble indexes from single-platform pushes, and nothing system-wide is written."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from labkit import engines
from labkit.docker.endpoints import Endpoints
from labkit.docker.podman import Podman, run_podman
from labkit.experiment import DOCKERFILE, PLATFORMS
from labkit.oci import media
from labkit.oci.registry import Registry
from labkit.provision import podman as podman_provision
from labkit.settings import Settings
from labkit.steps import assemble_index, inspect_index, podman_build
from tests.support import untouched

# Where a root podman writes when nothing redirects it: configuration, storage, caches, state, locks. (runc's own
# /run/runc is not watched: every runc on the machine that is not given a --root keeps its state there.)
SYSTEM_PATHS = (Path("/etc/containers"), Path("/var/lib/containers"), Path("/var/cache/containers"),
                Path("/run/containers"), Path("/run/libpod"),
                Path("/var/tmp/containers"), Path("/dev/shm/libpod_lock"),
                Path.home() / ".config" / "containers", Path.home() / ".local" / "share" / "containers")


@pytest.fixture(scope="module")
def podman(settings: Settings, endpoints: Endpoints) -> Podman:
    return engines.choose(settings).podman(endpoints)


@pytest.fixture()
def context_dir(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    return tmp_path


def _snapshot() -> dict[str, str]:
    return {str(path): untouched.digest(untouched.tree(path)) for path in SYSTEM_PATHS}


def test_podman_builds_both_platforms_into_an_oci_index_and_touches_nothing_system_wide(
        podman: Podman, endpoints: Endpoints, context_dir: Path) -> None:
    before = _snapshot()
    tag = f"podman-{uuid.uuid4().hex[:8]}"
    made = podman_build.build_manifest_and_push(podman, context_dir, tag=tag)
    assert made.succeeded, [c.stderr[-500:] for c in made.commands]
    assert [c.command.split()[:3] for c in made.commands] == [["podman", "build", "--platform"],
                                                             ["podman", "manifest", "push"]]
    assert made.media_type == media.INDEX
    report = inspect_index.read_index(endpoints, "demo", tag)
    assert sorted(report.platforms()) == ["linux/amd64", "linux/arm64/v8"]
    assert report.platforms("attestation") == []
    assert all(e.layers and e.config.media_type == media.CONFIG for e in report.entries)
    assert not run_podman(podman, ["manifest", "exists", f"localhost/demo:{tag}"]).succeeded, "--rm removed the list"
    for platform, machine in (("linux/amd64", "x86_64"), ("linux/arm64", "aarch64")):
        ran = run_podman(podman, ["run", "--rm", "--network", "none", "--platform", platform, made.image_ref, "uname", "-m"])
        assert (ran.return_code, ran.stdout.strip()) == (0, machine), ran.stderr[-500:]
    assert run_podman(podman, ["rmi", made.image_ref]).succeeded
    assert _snapshot() == before


def test_podman_uses_only_the_labs_folders_and_the_labs_mirror(podman: Podman, settings: Settings) -> None:
    facts = podman_build.facts(podman, (settings.state_dir,))
    assert facts.folders_are_the_labs
    assert facts.docker_io_mirror == settings.registry_address
    assert (facts.runtime, facts.storage_driver) == ("runc", "overlay")
    assert facts.version.startswith("4.") and facts.buildah_version
    cache = podman_provision.state_dir(settings) / "var-lib" / "containers" / "cache"
    assert any(cache.glob("blob-info-cache-*")), "the cache root podman keeps in /var/lib/containers is the lab's"


def test_a_second_provisioning_changes_nothing(podman: Podman, settings: Settings, endpoints: Endpoints) -> None:
    state = podman_provision.state_dir(settings)
    files = [state / name for name in ("podman", "containers.conf", "storage.conf", "registries.conf")]
    before = [path.stat().st_mtime_ns for path in files]
    assert engines.choose(settings).podman(endpoints) == podman
    assert [path.stat().st_mtime_ns for path in files] == before


def test_imagetools_create_and_docker_manifest_join_single_platform_pushes(endpoints: Endpoints, context_dir: Path) -> None:
    repository = f"test-{uuid.uuid4().hex[:8]}"
    pushed = assemble_index.push_single_platforms(endpoints, context_dir, repository=repository)
    assert [p.media_type for p in pushed] == [media.DOCKER_MANIFEST] * len(PLATFORMS)
    for made in (assemble_index.imagetools_create(endpoints, repository=repository),
                 assemble_index.manifest_create(endpoints, repository=repository)):
        assert made.succeeded, [c.stderr[-500:] for c in made.commands]
        assert made.media_type == media.DOCKER_LIST
        tag = made.image_ref.rsplit(":", 1)[1]
        report = inspect_index.read_index(endpoints, repository, tag)
        assert report.platforms() == list(PLATFORMS)
        by_platform = {p.result.command.split()[4]: p.digest for p in pushed}
        assert {e.platform: e.manifest.digest for e in report.entries} == by_platform
    assert not assemble_index.local_list(endpoints, f"{endpoints.registry}/{repository}:manifest").exists(), "--purge removed it"
    assert Registry(endpoints.registry).get_manifest(repository, "manifest") is not None
