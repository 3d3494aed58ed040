"""Ports on loopback and whether Docker Hub can be reached."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

DOCKER_HUB = "https://registry-1.docker.io/v2/"


def port_is_free(address: str, port: int) -> bool:
    """True when nothing listens on address:port (so the lab may bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError:
            return False
    return True


def docker_hub_reachable(timeout: float = 3.0) -> bool:
    """True when Docker Hub's registry answers at all (401 Unauthorized counts: it answered)."""
    try:
        with urllib.request.urlopen(DOCKER_HUB, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False
