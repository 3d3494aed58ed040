"""The environment check: is everything the lab needs here, and answering? Python first, then the engine's own needs."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Sequence

from labkit.results import Check


def python_checks() -> list[Check]:
    """The Python side: version and the lab's libraries."""
    missing = [name for name in ("python_on_whales", "pandas", "nbval", "jupyterlab") if importlib.util.find_spec(name) is None]
    return [
        Check(sys.version_info >= (3, 11), "Python 3.11 or newer", "installing Python 3.11+ and running `make setup`"),
        Check(not missing, "python-on-whales, pandas, nbval and jupyterlab are installed",
              f"`make setup` (missing: {', '.join(missing)})"),
    ]


def environment(engine_checks: Sequence[Check]) -> list[Check]:
    """Every check, in the order a problem should be fixed: Python, then what the engine reported it needs."""
    return [*python_checks(), *engine_checks]
