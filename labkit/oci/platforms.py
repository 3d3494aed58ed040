"""Platform names (`os/architecture[/variant]`) in their normal form, so that two names of one platform compare equal.

BuildKit and containerd write a platform in the form containerd's `platforms.Normalize` gives it: arm64's default
variant v8 and amd64's v1 left out, 32-bit arm given its default v7 (`normalizeArch` in containerd/platforms
v1.0.0-rc.1 `database.go`, the version BuildKit v0.25.2 vendors). Docker Hub's indexes and podman write
`linux/arm64/v8`; a learner may write `linux/arm`.
"""

from __future__ import annotations

# (architecture, variant) -> the variant of the normal form
_DEFAULT_VARIANTS = {("arm64", "v8"): "", ("arm64", "8"): "", ("amd64", "v1"): "", ("arm", ""): "v7", ("arm", "7"): "v7"}


def normalize(platform: str) -> str:
    """`linux/arm64/v8` → `linux/arm64`, `linux/arm` → `linux/arm/v7`; other names as they are."""
    parts = platform.strip().split("/")
    if len(parts) < 2:
        return platform.strip()
    os_name, architecture, variant = parts[0], parts[1], parts[2] if len(parts) > 2 else ""
    variant = _DEFAULT_VARIANTS.get((architecture, variant), variant)
    return "/".join([os_name, architecture, *([variant] if variant else [])])


def normalize_list(platforms: str) -> str:
    """A comma-separated list of platforms, each in its normal form: `linux/amd64, linux/arm64/v8` → `linux/amd64,
    linux/arm64`."""
    return ", ".join(normalize(platform) for platform in platforms.split(","))


def same_platform(first: str, second: str) -> bool:
    """True when two names denote one platform."""
    return normalize(first) == normalize(second)
