"""Where a class keeps things, which ports it uses, and who is in it (its roster).

Everything of a class lives in one folder (LABKIT_CLASS_DIR, by default /var/lib/multiarch-lab/class-NAME), readable by
the learners where they need it (the Python they run, the notebooks to copy, the engine packages) and root's alone
where it holds secrets (hub/, roster.json).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from labkit.errors import LabError

ACCOUNT_COMMENT = "multiarch lab class learner"  # accounts `labkit class up --learners N` made, and may remove


@dataclass(frozen=True)
class Member:
    """One learner: their account, and whether the class created it (then `class down --purge` removes it)."""

    name: str
    uid: int
    home: str
    created: bool


@dataclass(frozen=True)
class Course:
    """Every folder, port and name one class uses."""

    name: str
    folder: Path
    hub_port: int = 8000
    prefix: str = "learner"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Course:
        name = environ.get("LABKIT_NAME") or "lab"
        port = environ.get("LABKIT_CLASS_PORT") or "8000"
        if not port.isdigit() or not 0 < int(port) < 65530:
            raise LabError(f"LABKIT_CLASS_PORT={port!r} is not a port number.",
                           "Set it to a free TCP port; the class uses it and the next three.")
        folder = Path(environ.get("LABKIT_CLASS_DIR") or f"/var/lib/multiarch-lab/class-{name}")
        return cls(name, folder, int(port), environ.get("LABKIT_CLASS_PREFIX") or "learner")

    @property
    def proxy_api_port(self) -> int:
        """configurable-http-proxy's API (the hub talks to it; token-protected)."""
        return self.hub_port + 1

    @property
    def hub_api_port(self) -> int:
        """The hub's own port behind the proxy (single-user servers and services reach the hub there)."""
        return self.hub_port + 2

    @property
    def cache_port(self) -> int:
        """The class-wide base-image cache (a read-only registry on the host's loopback)."""
        return self.hub_port + 3

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.hub_port}"

    # --- folders ---------------------------------------------------------------------------------------------------
    @property
    def hub_dir(self) -> Path:
        """root's alone (0700): the hub's config, database, cookie secret, tokens, log, pid."""
        return self.folder / "hub"

    @property
    def shared_dir(self) -> Path:
        """Readable by the learners: the Python they run, the notebooks, the engine packages, JupyterLab's settings."""
        return self.folder / "shared"

    @property
    def venv(self) -> Path:
        return self.shared_dir / "venv"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def notebooks(self) -> Path:
        return self.shared_dir / "notebooks"

    @property
    def jupyter_config(self) -> Path:
        return self.shared_dir / "jupyter"

    @property
    def packages(self) -> Path:
        """The engine packages, unpacked once for the whole class (each learner's cache links here)."""
        return self.shared_dir / "packages"

    @property
    def proxy_dir(self) -> Path:
        """configurable-http-proxy, installed from npm."""
        return self.folder / "proxy"

    @property
    def cache_dir(self) -> Path:
        """The base-image cache's config, data, pid and log."""
        return self.folder / "cache"

    @property
    def roster_file(self) -> Path:
        return self.folder / "roster.json"

    # --- the roster --------------------------------------------------------------------------------------------------
    def roster(self) -> list[Member]:
        """The learners of the class (empty when it was never started or was purged)."""
        try:
            return [Member(**entry) for entry in json.loads(self.roster_file.read_text())]
        except FileNotFoundError:
            return []

    def save_roster(self, members: list[Member]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.roster_file.write_text(json.dumps([asdict(member) for member in members], indent=1) + "\n")
        self.roster_file.chmod(0o600)
