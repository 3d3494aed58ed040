"""A learner of a class, in a real browser: logs into the hub (choosing their password, as at a first login), gets
JupyterLab on their own copy of the notebooks, runs notebook 00 against their own rootless sandbox to its
`[OK] Verified` line. Screenshots go to build/browser/class-*.png.

The class is the tests' own (tests/classroom.py), with one learner; `labkit class down` stops it at the end and keeps
the account for the classroom engine test, which starts the same class with three.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from labkit.docker.endpoints import Endpoints
from tests.support.browser import SCREENSHOTS, chromium_page, nothing_in_the_way, run_all_cells
from tests.support.classes import PASSWORD, ClassLearner, course, labkit_class, learners


@pytest.fixture
def learner(endpoints: Endpoints) -> Iterator[ClassLearner]:
    try:
        up = labkit_class("up", "--learners", "1")
        assert up.returncode == 0, up.stdout + up.stderr
        yield learners(course())[0]
    finally:
        down = labkit_class("down")
        assert down.returncode == 0, down.stdout + down.stderr


def test_a_learner_logs_into_the_hub_and_verifies_notebook_00(learner: ClassLearner, tmp_path: Path) -> None:
    url = course().url
    with chromium_page(tmp_path / "chromium-profile") as page:
        page.goto(f"{url}/hub/login")
        page.fill("#username_input", learner.name)
        page.fill("#password_input", PASSWORD)
        page.screenshot(path=SCREENSHOTS / "class-login.png")
        page.click("#login_submit")
        page.wait_for_url(f"{url}/user/{learner.name}/lab/**", timeout=300_000)
        expect(page.locator(".jp-NotebookPanel:visible")).to_be_visible(timeout=120_000)
        assert page.url.endswith("/lab/tree/00_start_here.ipynb"), page.url
        notebook = run_all_cells(page)
        nothing_in_the_way(page, notebook, "00_start_here")
        page.screenshot(path=SCREENSHOTS / "class-00_start_here.png")
    assert (learner.notebooks / "00_start_here.ipynb").is_file()
