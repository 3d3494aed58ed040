"""What the steps see of an engine: a Docker CLI, its config folder, contexts and a registry."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from python_on_whales import DockerClient

from labkit.errors import LabError
from labkit.settings import RegistryAddress


@dataclass(frozen=True)
class Endpoints:
    """Where the experiment's commands go, however the engine was provisioned."""

    docker_cli: Path
    docker_config: Path
    classic_context: str  # where step 2 runs: the engine's default builder
    multiarch_context: str  # where step 3 builds
    registry: RegistryAddress  # the lab's registry, where step 3 pushes
    mirror: RegistryAddress | None = None  # a registry that serves docker.io for this engine (the sandbox's), if any
    create_builder: str = ""  # the builder plan for step 3: a docker-container builder to create, as the article does
    buildkitd_config: Path | None = None  # lets that builder push to the plain-HTTP local registry

    def client(self, context: str, unset: Sequence[str] = ()) -> DockerClient:
        """A python-on-whales client for one context, using the lab's CLI and config folder; `unset` names variables
        of this process's environment the CLI must not see (it runs under `env -u NAME …`)."""
        call = ["env", *(part for name in unset for part in ("-u", name)), str(self.docker_cli)] if unset else [
            str(self.docker_cli)]
        return DockerClient(config=self.docker_config, context=context, client_call=call)

    @property
    def classic(self) -> DockerClient:
        """The engine whose default builder uses the docker driver on the classic image store."""
        return self.client(self.classic_context)

    @property
    def multiarch(self) -> DockerClient:
        """The engine whose builder can build several platforms."""
        return self.client(self.multiarch_context)


def require_context(endpoints: Endpoints, context: str) -> None:
    """Stop with a LabError when the lab's config folder has no such context.

    The CLI keeps each context's metadata under contexts/meta/<sha256 of its name>/, so this needs no command.
    """
    meta = endpoints.docker_config / "contexts" / "meta"
    if context != "default" and not (meta / hashlib.sha256(context.encode()).hexdigest() / "meta.json").is_file():
        known = {c.name for c in endpoints.client("default").context.list()}
        raise LabError(f"There is no Docker context called {context!r} in the lab's config.",
                       f"Use one of: {', '.join(sorted(known))} (or run `labkit up`).")
