"""The sandbox, for real: both daemons, the registry, the base image and QEMU."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from python_on_whales import DockerException

from labkit.engine.endpoints import Endpoints
from labkit.oci import media
from labkit.oci.registry import Registry
from labkit.provision import base_image, packages
from labkit.settings import Settings

TWO_PLATFORMS = ["linux/amd64", "linux/arm64"]


@pytest.fixture()
def context_dir(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text('FROM busybox\nCMD ["echo", "Hello from multi-arch image"]\n')
    return tmp_path


def test_classic_daemon_uses_the_classic_store_and_multiarch_the_containerd_store(lab: Endpoints) -> None:
    assert lab.classic.info().driver == "overlay2"
    status = dict(lab.multiarch.info().driver_status)
    assert status.get("driver-type") == "io.containerd.snapshotter.v1"


def test_classic_daemon_refuses_a_two_platform_build(lab: Endpoints, context_dir: Path) -> None:
    with pytest.raises(DockerException) as raised:
        for _ in lab.classic.buildx.build(context_dir, platforms=TWO_PLATFORMS, tags=["demo:multi"], stream_logs=True):
            pass
    assert raised.value.return_code == 1
    assert "Multi-platform build is not supported for the docker driver" in (raised.value.stderr or "")


def test_multiarch_builds_both_platforms_and_pushes_an_oci_index(lab: Endpoints, context_dir: Path) -> None:
    image_ref = f"{lab.registry}/test-{uuid.uuid4().hex[:8]}:multi"
    lab.multiarch.buildx.build(context_dir, platforms=TWO_PLATFORMS, tags=[image_ref], push=True, progress=False)
    index = lab.multiarch.buildx.imagetools.inspect(image_ref)
    assert index.media_type == media.INDEX
    platforms = {f"{m.platform.os}/{m.platform.architecture}" for m in index.manifests if m.platform}
    assert set(TWO_PLATFORMS) <= platforms


def test_from_busybox_resolves_from_the_local_mirror(lab: Endpoints, settings: Settings) -> None:
    served = Registry(settings.registry_address).get_manifest(base_image.REPOSITORY, base_image.TAG)
    assert served is not None and served.media_type == media.INDEX
    lab.classic.image.pull("busybox", quiet=True)
    assert served.digest in lab.classic.image.inspect("busybox").repo_digests[0]


def test_base_image_covers_every_debian_platform(settings: Settings) -> None:
    served = Registry(settings.registry_address).get_manifest(base_image.REPOSITORY, base_image.TAG)
    assert served is not None
    platforms = {entry["platform"]["architecture"] for entry in served.json()["manifests"]}
    assert {"amd64", "arm64", "arm", "386", "ppc64le", "riscv64", "s390x"} <= platforms


def test_arm64_container_runs_under_qemu(lab: Endpoints) -> None:
    output = lab.multiarch.run("busybox", ["uname", "-m"], platform="linux/arm64", networks=["none"], remove=True)
    assert output == "aarch64"


def test_base_image_is_reproducible(lab: Endpoints, settings: Settings) -> None:
    record = packages.read_record(settings)
    first, second = base_image.build(settings, record), base_image.build(settings, record)
    assert first.index.digest == second.index.digest
    served = Registry(settings.registry_address).get_manifest(base_image.REPOSITORY, base_image.TAG)
    assert served is not None and served.digest == first.index.digest
