"""A later notebook opened first prepares what it needs, and says so."""

from __future__ import annotations

import nbformat

from labkit import nbtools
from labkit.docker.endpoints import Endpoints
from labkit.experiment import REPOSITORY, TAG
from labkit.oci.registry import Registry
from labkit.settings import Settings


def _execute(name: str) -> str:
    notebook = nbtools._execute(nbformat.read(nbtools.NOTEBOOKS / name, as_version=4), name)
    return "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs)


def test_notebook_04_builds_and_pushes_the_image_when_it_is_missing(endpoints: Endpoints, settings: Settings) -> None:
    registry = Registry(endpoints.registry)
    served = registry.get_manifest(REPOSITORY, TAG)
    if served is not None:
        registry.delete_manifest(REPOSITORY, served.digest)
    assert registry.get_manifest(REPOSITORY, TAG) is None
    (settings.work_dir / "Dockerfile").unlink(missing_ok=True)

    printed = _execute("04_inspect_the_index.ipynb")
    assert "The Dockerfile was missing: wrote it" in printed
    assert "was not in the registry: built and pushed it" in printed
    assert "[OK] Verified:" in printed


def test_notebook_02_runs_twice_in_a_row(endpoints: Endpoints) -> None:
    for _ in range(2):
        assert "[OK] Verified:" in _execute("02_the_build_that_fails.ipynb")


def test_notebook_06_runs_twice_in_a_row(endpoints: Endpoints) -> None:
    for _ in range(2):
        assert "[OK] Verified: the same layers in all" in _execute("06_without_buildkit.ipynb")
