"""Chart values for a large class on Kubernetes with Zero to JupyterHub (chart 4.4.0).

Each learner gets a pod from the lab's single-user image, with CPU and memory guarantees and limits the scheduler
enforces (cgroups, unlike on the one host here), and idle servers culled. Inside, the lab runs in host mode against a
BuildKit builder of the `kubernetes` driver in rootless mode (`docker buildx create --driver kubernetes --driver-opt
rootless=true`) instead of two dockerd; the second profile appends a native arm64 node to that builder (`--append
--platform linux/arm64` with a node selector) instead of emulating arm64 with QEMU. docs/classroom.md has the commands.

The keys used are those the chart documents in jupyterhub/values.schema.yaml at tag 4.4.0
(https://github.com/jupyterhub/zero-to-jupyterhub-k8s/blob/4.4.0/jupyterhub/values.schema.yaml); a unit test
validates these values against that schema.
"""

from __future__ import annotations

import json
from typing import Any

DEFAULT_IMAGE = "registry.example.org/multiarch-lab/singleuser:latest"
CHART_VERSION = "4.4.0"
# The kubernetes driver's options `rootless` and `nodeselector`: driver/kubernetes/factory.go in docker/buildx v0.29.1
# (https://github.com/docker/buildx/blob/v0.29.1/driver/kubernetes/factory.go#L208-L220).
AMD64_NODE = ("docker buildx create --name lab --driver kubernetes --driver-opt rootless=true "
              "--driver-opt nodeselector=kubernetes.io/arch=amd64 --platform linux/amd64")
ARM64_NODE = ("docker buildx create --name lab --append --driver kubernetes --driver-opt rootless=true "
              "--driver-opt nodeselector=kubernetes.io/arch=arm64 --platform linux/arm64")
ARM64_BUILDER = f"{AMD64_NODE} && {ARM64_NODE}"


def _on_start(command: str) -> dict[str, Any]:
    """KubeSpawner's lifecycle_hooks: the learner's builder, created when their pod starts (once: `|| true` on restart)."""
    return {"postStart": {"exec": {"command": ["sh", "-c", f"({command}) || true"]}}}


def values(image: str = DEFAULT_IMAGE) -> dict[str, Any]:
    """The chart's values: the lab's image, two profiles, guarantees and limits, culling."""
    name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "latest")
    return {
        "singleuser": {
            "image": {"name": name, "tag": tag},
            "defaultUrl": "/lab/tree/00_start_here.ipynb",
            "extraEnv": {"LABKIT_MODE": "host"},
            "cpu": {"limit": 2, "guarantee": 0.5},
            "memory": {"limit": "4G", "guarantee": "1G"},
            "profileList": [
                {"display_name": "Multi-arch lab (arm64 emulated with QEMU on the builder's node)", "slug": "lab",
                 "default": True,
                 "kubespawner_override": {"lifecycle_hooks": _on_start(AMD64_NODE)}},
                {"display_name": "Multi-arch lab with a native arm64 node", "slug": "lab-native-arm64",
                 "kubespawner_override": {"lifecycle_hooks": _on_start(ARM64_BUILDER)}},
            ],
        },
        "cull": {"enabled": True, "timeout": 3600, "every": 300, "users": False},
    }


def values_yaml(found: dict[str, Any]) -> str:
    """The values as a YAML file (JSON is YAML), with where its keys come from."""
    return (f"# Zero to JupyterHub {CHART_VERSION} values for the multi-arch myth lab, written by `labkit class helm-values`.\n"
            f"# helm upgrade --install lab jupyterhub/jupyterhub --version {CHART_VERSION} --values THIS_FILE\n"
            + json.dumps(found, indent=2) + "\n")
