"""What the tests and the soak share: the `labkit` command as a learner runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping


def labkit_argv(*args: str) -> list[str]:
    """The command line of `labkit ARGS`, run by this interpreter."""
    return [sys.executable, "-m", "labkit", *args]


def run_labkit(*args: str, env: Mapping[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The `labkit` command, as a learner runs it (exit code, stdout, stderr)."""
    return subprocess.run(labkit_argv(*args), env=dict(env) if env is not None else None, capture_output=True, text=True,
                          timeout=timeout, check=False)


def sandbox_env(**overrides: str) -> dict[str, str]:
    """This process's environment in sandbox mode, with LABKIT_* overrides (a sandbox of its own, say)."""
    return {**os.environ, "LABKIT_MODE": "sandbox", **overrides}
