"""Platform names in their normal form: the one function every comparison of platforms goes through."""

from __future__ import annotations

import pytest

from labkit.oci import platforms


@pytest.mark.parametrize(("name", "normal"), [
    ("linux/arm64/v8", "linux/arm64"),  # Docker Hub's and podman's name; BuildKit writes the normal form
    ("linux/arm64", "linux/arm64"),
    ("linux/arm64/v9", "linux/arm64/v9"),
    ("linux/arm", "linux/arm/v7"),  # 32-bit arm's default variant
    ("linux/arm/v5", "linux/arm/v5"),
    ("linux/amd64/v1", "linux/amd64"),
    ("linux/amd64/v3", "linux/amd64/v3"),
    ("linux/s390x", "linux/s390x"),
    (" linux/386 ", "linux/386"),
])
def test_a_platform_in_its_normal_form(name: str, normal: str) -> None:
    assert platforms.normalize(name) == normal


def test_lists_and_pairs_compare_in_the_normal_form() -> None:
    assert platforms.normalize_list("linux/amd64, linux/arm64/v8") == "linux/amd64, linux/arm64"
    assert platforms.same_platform("linux/arm64/v8", "linux/arm64") and platforms.same_platform("linux/arm", "linux/arm/v7")
    assert not platforms.same_platform("linux/arm/v6", "linux/arm/v7")
