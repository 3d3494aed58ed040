"""Every test in this folder runs against the real sandbox, so each carries the `engine` marker.

`make unit` deselects them (`-m "not engine"`); `make test` runs them all.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests collected from this folder (the hook sees the whole run's items)."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.engine)
