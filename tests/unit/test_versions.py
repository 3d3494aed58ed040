"""What the lab knows of versions: which BuildKit an engine release carries, and what that changes."""

from __future__ import annotations

import pytest

from labkit.versions import UNKNOWN_BUILDKIT, buildkit_minor, oci_by_default, vendored_buildkit


@pytest.mark.parametrize(("engine", "buildkit"), [("28.5.2+dfsg4", "v0.25.2"), ("29.6.1", "v0.31"), ("29.7.2", "v0.32"),
                                                   ("27.1.0", "")])
def test_the_buildkit_an_engine_release_vendors(engine: str, buildkit: str) -> None:
    assert vendored_buildkit(engine) == buildkit


@pytest.mark.parametrize(("buildkit", "oci"), [("v0.25.2", False), ("v0.30.0", False), ("v0.31", True), ("v0.32.2", True),
                                               (UNKNOWN_BUILDKIT, None), ("", None)])
def test_oci_media_types_by_default_from_buildkit_0_31(buildkit: str, oci: bool | None) -> None:
    assert oci_by_default(buildkit) is oci


def test_debian_s_unknown_version_is_not_parsed_as_0_0() -> None:
    assert buildkit_minor(UNKNOWN_BUILDKIT) is None and buildkit_minor("v0.25.2") == (0, 25)
