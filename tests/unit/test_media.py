"""Content digests and canonical JSON, checked against bytes captured from the lab's registry."""

import hashlib
import json

from labkit.oci import media
from tests.conftest import DATA


def test_digest_of_captured_manifests_matches_their_file_names() -> None:
    paths = sorted(DATA.glob("demo-*-manifest-*.json"))
    assert paths
    for path in paths:
        assert media.digest_of(path.read_bytes()).removeprefix("sha256:")[:12] == path.stem.rsplit("-", 1)[1]


def test_digest_of_captured_index_is_the_served_digest() -> None:
    served = json.loads((DATA / "demo-multi-index.served.json").read_text())
    assert media.digest_of((DATA / "demo-multi-index.json").read_bytes()) == served["Docker-Content-Digest"]


def test_digest_has_sha256_prefix_and_hex_body() -> None:
    digest = media.digest_of(b"hello")
    assert digest == "sha256:" + hashlib.sha256(b"hello").hexdigest()
    assert len(digest) == len("sha256:") + 64


def test_canonical_json_ignores_key_order() -> None:
    assert media.canonical_json({"b": 1, "a": [2, {"y": 1, "x": 0}]}) == media.canonical_json(
        {"a": [2, {"x": 0, "y": 1}], "b": 1})


def test_canonical_json_has_sorted_keys_and_no_spaces() -> None:
    assert media.canonical_json({"b": 1, "a": "x y"}) == b'{"a":"x y","b":1}'


def test_canonical_json_of_a_captured_manifest_round_trips() -> None:
    document = json.loads((DATA / "demo-multi-index.json").read_bytes())
    assert json.loads(media.canonical_json(document)) == document
    assert media.canonical_json(document) == media.canonical_json(json.loads(media.canonical_json(document)))


def test_descriptor_points_at_the_bytes() -> None:
    data = (DATA / "demo-multi-index.json").read_bytes()
    described = media.descriptor(media.INDEX, data, annotations={"k": "v"})
    assert described == {"mediaType": media.INDEX, "digest": media.digest_of(data), "size": len(data),
                         "annotations": {"k": "v"}}


def test_accept_all_lists_every_manifest_type() -> None:
    accepted = [part.strip() for part in media.ACCEPT_ALL.split(",")]
    assert accepted == [media.INDEX, media.MANIFEST, media.DOCKER_LIST, media.DOCKER_MANIFEST]
