"""Facts about an engine that decide what it can build."""

from __future__ import annotations

from typing import Literal

from python_on_whales import DockerException

from labkit.engine.endpoints import Endpoints

ImageStore = Literal["classic", "containerd", "unknown"]
CONTAINERD_SNAPSHOTTER = "io.containerd.snapshotter.v1"


def store_from_driver_status(driver_status: list[tuple[str, str]] | list[list[str]] | None) -> ImageStore:
    """`containerd` when `docker info` reports the containerd snapshotter, else `classic`."""
    pairs = {str(pair[0]): str(pair[1]) for pair in driver_status or [] if len(pair) == 2}
    return "containerd" if pairs.get("driver-type") == CONTAINERD_SNAPSHOTTER else "classic"


def image_store(endpoints: Endpoints, context: str) -> ImageStore:
    """Which image store the engine behind a context uses (`unknown` when it does not answer)."""
    try:
        info = endpoints.client(context).info()
    except DockerException:
        return "unknown"
    return store_from_driver_status(info.driver_status)
