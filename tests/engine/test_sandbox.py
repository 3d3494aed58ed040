"""The sandbox, for real: both daemons, the registry, the base image and QEMU."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from python_on_whales import DockerException

from labkit.docker.endpoints import Endpoints
from labkit.experiment import BASE_REPOSITORY, BASE_TAG, DOCKERFILE, LOCAL_TAG, PLATFORMS, STEP2_ERROR
from labkit.oci import media
from labkit.oci.registry import Registry
from labkit.provision import base_image, packages
from labkit.settings import Settings


@pytest.fixture()
def context_dir(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    return tmp_path


def test_classic_daemon_uses_the_classic_store_and_multiarch_the_containerd_store(endpoints: Endpoints) -> None:
    assert endpoints.classic.info().driver == "overlay2"
    status = {str(pair[0]): str(pair[1]) for pair in endpoints.multiarch.info().driver_status or []}
    assert status.get("driver-type") == "io.containerd.snapshotter.v1"


def test_classic_daemon_refuses_a_two_platform_build(endpoints: Endpoints, context_dir: Path) -> None:
    with pytest.raises(DockerException) as raised:
        logs = endpoints.classic.buildx.build(context_dir, platforms=list(PLATFORMS), tags=[LOCAL_TAG], stream_logs=True)
        assert isinstance(logs, Iterator)
        for _ in logs:
            pass
    assert raised.value.return_code == 1
    assert STEP2_ERROR in (raised.value.stderr or "")


def test_multiarch_builds_both_platforms_and_pushes_an_oci_index(endpoints: Endpoints, context_dir: Path) -> None:
    image_ref = f"{endpoints.registry}/test-{uuid.uuid4().hex[:8]}:multi"
    endpoints.multiarch.buildx.build(context_dir, platforms=list(PLATFORMS), tags=[image_ref], push=True, progress=False)
    index = endpoints.multiarch.buildx.imagetools.inspect(image_ref)
    assert index.media_type == media.INDEX
    platforms = {f"{m.platform.os}/{m.platform.architecture}" for m in index.manifests or [] if m.platform}
    assert set(PLATFORMS) <= platforms


def test_from_busybox_resolves_from_the_local_mirror(endpoints: Endpoints, settings: Settings) -> None:
    served = Registry(settings.registry).get_manifest(BASE_REPOSITORY, BASE_TAG)
    assert served is not None and served.media_type == media.INDEX
    endpoints.classic.image.pull("busybox", quiet=True)
    assert served.digest in endpoints.classic.image.inspect("busybox").repo_digests[0]


def test_base_image_covers_every_debian_platform(settings: Settings) -> None:
    served = Registry(settings.registry).get_manifest(BASE_REPOSITORY, BASE_TAG)
    assert served is not None
    platforms = {entry["platform"]["architecture"] for entry in served.json()["manifests"]}
    assert {"amd64", "arm64", "arm", "386", "ppc64le", "riscv64", "s390x"} <= platforms


def test_arm64_container_runs_under_qemu(endpoints: Endpoints) -> None:
    output = endpoints.multiarch.run("busybox", ["uname", "-m"], platform="linux/arm64", networks=["none"], remove=True)
    assert output == "aarch64"


def test_base_image_is_reproducible(endpoints: Endpoints, settings: Settings) -> None:
    record = packages.read_record(settings)
    first, second = base_image.build(settings, record), base_image.build(settings, record)
    assert first.index.digest == second.index.digest
    served = Registry(settings.registry).get_manifest(BASE_REPOSITORY, BASE_TAG)
    assert served is not None and served.digest == first.index.digest
