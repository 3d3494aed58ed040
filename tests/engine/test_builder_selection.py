"""Which builder is current is one file per config folder, and a buildx command on another context resets it.

notebook 02 selects a builder (`buildx create --use`) and builds with it while `make run` runs notebook 03 or 04 on
the other context: the step holds the builder-selection lock, and every other buildx command waits for it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest

from labkit.docker.builders import list_builders
from labkit.docker.commands import builder_selection, run_docker
from labkit.docker.endpoints import Endpoints


@pytest.fixture()
def selected(endpoints: Endpoints) -> Iterator[str]:
    """A docker-container builder's name (never bootstrapped), removed at the end."""
    name = f"selection-{uuid.uuid4().hex[:8]}"
    yield name
    run_docker(endpoints, endpoints.classic_context, ["buildx", "rm", "--force", name])


def _current(endpoints: Endpoints) -> list[str]:
    return [builder.name for builder in list_builders(endpoints, endpoints.classic_context) if builder.current]


def _use(endpoints: Endpoints, name: str) -> None:
    created = run_docker(endpoints, endpoints.classic_context,
                         ["buildx", "create", "--name", name, "--driver", "docker-container", "--use"])
    assert created.succeeded, created.stderr


def test_buildx_on_another_context_resets_the_current_builder(endpoints: Endpoints, selected: str) -> None:
    _use(endpoints, selected)
    assert _current(endpoints) == [selected]
    run_docker(endpoints, endpoints.multiarch_context, ["buildx", "ls"])
    assert _current(endpoints) == [endpoints.classic_context], "buildx kept --use across a command on another context"


def test_a_step_holding_the_selection_keeps_its_builder_while_other_buildx_commands_wait(endpoints: Endpoints, selected: str) -> None:
    finished = threading.Event()

    def elsewhere() -> None:
        run_docker(endpoints, endpoints.multiarch_context, ["buildx", "ls"])
        finished.set()

    other = threading.Thread(target=elsewhere)
    with builder_selection(endpoints):
        _use(endpoints, selected)
        other.start()
        assert not finished.wait(1.0), "a buildx command on another context ran while the selection was held"
        assert _current(endpoints) == [selected]
    other.join(60)
    assert finished.is_set()
