"""Notebook 08's steps, for real on the sandbox: --platform in its four places, variant selection on the base
index, CI's push-per-platform then merge, docker manifest on index sources, the registry knobs, bake."""

from __future__ import annotations

from pathlib import Path

from labkit.docker.endpoints import Endpoints
from labkit.oci import media
from labkit.settings import Settings
from labkit.steps import bake, ci_pattern, dockerfile, inspect_index, platform_flags, registry_knobs


def _workdir(settings: Settings, name: str) -> Path:
    return dockerfile.write(settings.work_dir / "after" / name).workdir


def test_each_place_of_platform_runs_arm64_and_the_lab_puts_its_tag_back(endpoints: Endpoints, settings: Settings) -> None:
    for context in (endpoints.classic_context, endpoints.multiarch_context):
        before = platform_flags.restore_check(endpoints, context)
        found = platform_flags.places(endpoints, _workdir(settings, "places"), context)
        assert [place.place for place in found] == ["docker run --platform", "docker build --platform", "FROM --platform",
                                                     "DOCKER_DEFAULT_PLATFORM"]
        assert {place.printed for place in found} == {"aarch64"}, [place.commands for place in found]
        after = platform_flags.restore_check(endpoints, context)
        assert (after.succeeded, after.stdout) == (before.succeeded, before.stdout)


def test_a_variant_is_picked_by_containerds_matcher_and_the_stores_differ_on_arm_v6(endpoints: Endpoints) -> None:
    report = inspect_index.base_image(endpoints)
    classic = {p.requested: p for p in platform_flags.pick(endpoints, endpoints.classic_context, report)}
    multi = {p.requested: p for p in platform_flags.pick(endpoints, endpoints.multiarch_context, report)}
    for picks in (classic, multi):
        assert picks["linux/arm"].picked_platform == "linux/arm/v7" and picks["linux/arm"].run.succeeded
        assert picks["linux/arm64/v8"].picked_platform == "linux/arm64/v8" and picks["linux/arm64/v8"].uname == "aarch64"
    assert classic["linux/arm/v6"].picked_platform == "linux/arm/v5" and classic["linux/arm/v6"].run.succeeded
    assert not multi["linux/arm/v6"].run.succeeded and "does not provide the specified platform" in multi["linux/arm/v6"].uname


def test_ci_merges_the_per_platform_digests_into_the_index_one_command_builds(endpoints: Endpoints,
                                                                               settings: Settings) -> None:
    workdir = _workdir(settings, "ci")
    pattern = ci_pattern.run(endpoints, workdir)
    assert not pattern.by_digest.succeeded and "docker driver" in pattern.by_digest.stderr
    assert all(push.succeeded for push in pattern.pushes) and all(d.startswith("sha256:") for _, d in pattern.digests)
    assert pattern.create.succeeded, pattern.create.stderr
    assert pattern.merged.platforms() == pattern.one.platforms() == ["linux/amd64", "linux/arm64"]
    assert ({e.manifest.digest for e in pattern.merged.entries if e.kind == "image"}
            == {e.manifest.digest for e in pattern.one.entries if e.kind == "image"})
    refused = ci_pattern.manifest_from_indexes(endpoints, pattern)
    assert not refused.succeeded and "is a manifest list" in refused.stderr
    made = ci_pattern.manifest_from_single(endpoints, workdir)
    assert made.media_type == media.DOCKER_LIST, made.commands


def test_each_registry_knob_changes_what_the_registry_serves(endpoints: Endpoints, settings: Settings) -> None:
    served = {push.knob: push for push in registry_knobs.push_each(endpoints, _workdir(settings, "knobs"))}
    assert all(push.result.succeeded for push in served.values()), [p.result.stderr for p in served.values()]
    assert served["default (provenance, mode=min)"].media_type == media.INDEX
    assert served["oci-mediatypes=false"].media_type == media.INDEX  # attestations turn OCI types back on
    assert served["--provenance=false"].media_type == media.DOCKER_MANIFEST
    assert served["--provenance=false, oci-mediatypes=true"].media_type == media.MANIFEST


def test_bake_builds_the_platforms_its_file_lists(endpoints: Endpoints, settings: Settings) -> None:
    run = bake.bake(endpoints, settings.work_dir)
    assert run.result.succeeded, run.result.stderr
    assert run.index is not None and run.index.platforms() == ["linux/amd64", "linux/arm64"]
    assert 'platforms = ["linux/amd64", "linux/arm64"]' in run.hcl and str(settings.work_dir) not in run.hcl
