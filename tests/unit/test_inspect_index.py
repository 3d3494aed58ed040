"""Parsing an index and its manifests, over raw bytes captured from the lab's registry.

demo:multi is the OCI index BuildKit pushes by default (two images, two attestations);
demo:noattest is the Docker manifest list pushed with --provenance=false.
"""

import json

from labkit.oci import media
from labkit.oci.index import Descriptor, platform_name
from tests.conftest import DATA
from tests.support.captured import index_report, manifest_files


def test_every_listed_manifest_was_captured_with_matching_bytes() -> None:
    for name in ("demo-multi", "demo-noattest"):
        listed = {e.manifest.digest: e.manifest.size for e in index_report(name).entries}
        captured = {media.digest_of(p.read_bytes()): len(p.read_bytes()) for p in manifest_files(name)}
        assert captured == listed


def test_computed_digest_equals_served_digest_for_the_oci_index() -> None:
    report = index_report("demo-multi")
    assert report.computed_digest == report.served_digest


def test_computed_digest_equals_served_digest_for_the_manifest_list() -> None:
    report = index_report("demo-noattest")
    assert report.computed_digest == report.served_digest


def test_computed_digest_changes_when_the_bytes_are_reformatted() -> None:
    report = index_report("demo-multi")
    reformatted = media.canonical_json(report.document)
    assert json.loads(reformatted) == report.document
    assert media.digest_of(reformatted) != report.served_digest


def test_kinds_follow_the_attestation_annotation() -> None:
    assert [e.kind for e in index_report("demo-multi").entries] == ["image", "image", "attestation", "attestation"]


def test_image_platforms_in_index_order() -> None:
    assert index_report("demo-multi").platforms() == ["linux/amd64", "linux/arm64"]


def test_attestations_have_no_platform() -> None:
    assert index_report("demo-multi").platforms("attestation") == ["unknown/unknown", "unknown/unknown"]


def test_each_attestation_describes_an_image_manifest_of_the_index() -> None:
    report = index_report("demo-multi")
    images = [e.manifest.digest for e in report.entries if e.kind == "image"]
    described = [e.describes for e in report.entries if e.kind == "attestation"]
    assert sorted(described) == sorted(images)


def test_image_entries_describe_nothing() -> None:
    assert all(e.describes == "" for e in index_report("demo-multi").entries if e.kind == "image")


def test_image_entries_carry_their_manifest_config_and_layers() -> None:
    report = index_report("demo-multi")
    for entry in report.entries:
        path = DATA / f"demo-multi-manifest-{entry.manifest.digest.removeprefix('sha256:')[:12]}.json"
        document = json.loads(path.read_bytes())
        assert entry.config.digest == document["config"]["digest"]
        assert [layer.digest for layer in entry.layers] == [layer["digest"] for layer in document["layers"]]


def test_image_layers_are_tars_and_attestation_layers_are_in_toto() -> None:
    report = index_report("demo-multi")
    for entry in report.entries:
        kinds = {layer.media_type for layer in entry.layers}
        assert kinds == ({media.LAYER_TAR} if entry.kind == "image" else {"application/vnd.in-toto+json"})


def test_manifest_list_without_attestations_has_only_images() -> None:
    report = index_report("demo-noattest")
    assert [e.kind for e in report.entries] == ["image", "image"]
    assert report.platforms("attestation") == []
    assert report.platforms() == ["linux/amd64", "linux/arm64"]


def test_oci_index_media_type_is_preserved() -> None:
    report = index_report("demo-multi")
    assert report.media_type == media.INDEX == report.document["mediaType"]
    assert {e.manifest.media_type for e in report.entries} == {media.MANIFEST}


def test_docker_manifest_list_media_type_is_preserved() -> None:
    report = index_report("demo-noattest")
    assert report.media_type == media.DOCKER_LIST == report.document["mediaType"]
    assert {e.manifest.media_type for e in report.entries} == {media.DOCKER_MANIFEST}
    assert {e.config.media_type for e in report.entries} == {"application/vnd.docker.container.image.v1+json"}


def test_same_image_content_gets_different_manifest_digests_per_format() -> None:
    oci = [e for e in index_report("demo-multi").entries if e.kind == "image"]
    docker = list(index_report("demo-noattest").entries)
    assert [e.config.digest for e in oci] == [e.config.digest for e in docker]
    assert {e.manifest.digest for e in oci}.isdisjoint(e.manifest.digest for e in docker)


def test_entries_without_a_fetched_manifest_have_an_empty_config() -> None:
    report = index_report("demo-multi", with_manifests=False)
    assert len(report.entries) == 4
    assert all(e.config == Descriptor("", "", 0) and e.layers == () for e in report.entries)


def test_platform_name_joins_os_architecture_and_variant() -> None:
    assert platform_name({"os": "linux", "architecture": "arm", "variant": "v7"}) == "linux/arm/v7"
    assert platform_name({"architecture": "arm64", "os": "linux"}) == "linux/arm64"


def test_platform_name_of_a_missing_platform_is_unknown() -> None:
    assert platform_name(None) == "unknown/unknown"
    assert platform_name({}) == "unknown/unknown"
