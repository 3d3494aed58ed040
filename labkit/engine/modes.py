"""One way in, whichever engine runs the experiment: the sandbox, or the learner's own Docker (host mode)."""

from __future__ import annotations

from pathlib import Path

from labkit.engine import hostmode, sandbox
from labkit.engine.endpoints import Endpoints
from labkit.engine.sandbox import ServiceStatus
from labkit.errors import LabError
from labkit.settings import Settings


def up(settings: Settings, buildkit_tar: Path | None = None) -> Endpoints:
    """Start (or prepare) the engine of the current mode."""
    if settings.mode == "host":
        return hostmode.up(settings, buildkit_tar)
    if buildkit_tar is not None:
        raise LabError("--buildkit-tar is for host mode: the sandbox builds with its own daemons' builders.",
                       "Run `LABKIT_MODE=host labkit up --buildkit-tar FILE` to use it with your Docker.")
    return sandbox.up(settings)


def down(settings: Settings) -> list[str]:
    """Stop or remove what the lab started in the current mode."""
    return hostmode.down(settings) if settings.mode == "host" else sandbox.down(settings)


def status(settings: Settings) -> list[ServiceStatus]:
    """One row per service of the current mode."""
    return hostmode.status(settings) if settings.mode == "host" else sandbox.status(settings)


def is_up(settings: Settings) -> bool:
    """True when every service of the current mode answers."""
    ready = ("running", "registered", "pushed", "Docker ")
    return all(row.state.startswith(ready) for row in status(settings))


def prepare(settings: Settings) -> Endpoints:
    """Endpoints good enough to ask questions (the doctor), without starting anything."""
    return hostmode.prepare(settings) if settings.mode == "host" else sandbox.endpoints(settings)


def endpoints(settings: Settings) -> Endpoints:
    """The current mode's engine as the steps see it."""
    return hostmode.endpoints(settings) if settings.mode == "host" else sandbox.endpoints(settings)


def environment(settings: Settings, daemon: str) -> dict[str, str]:
    """Variables that point a shell's `docker` at the engine step 2 (`classic`) or step 3 (`multiarch`) uses."""
    if settings.mode != "host":
        return sandbox.environment(settings, daemon)
    if daemon not in ("classic", "multiarch"):
        raise LabError(f"There is no engine called {daemon!r}.", "Use `classic` (step 2) or `multiarch` (step 3).")
    ends = hostmode.prepare(settings)
    return {"DOCKER_CONFIG": str(ends.docker_config),
            "DOCKER_CONTEXT": ends.classic_context if daemon == "classic" else ends.multiarch_context}
