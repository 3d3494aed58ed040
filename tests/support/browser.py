"""JupyterLab in a real browser, for the browser tests: Debian's chromium, headless, driven by Playwright; a notebook's
cells run from the Run menu as a learner runs them; what must not be in a learner's way."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Locator, Page, expect, sync_playwright

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "build" / "browser"
CHROMIUM = os.environ.get("LAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# No network but loopback: Chromium's own background connections are turned off rather than refused at every start.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
CELLS_TIMEOUT_MS = 120_000
# How JupyterLab marks what a learner should not see: error outputs, dialogs, notification toasts.
ERROR_OUTPUTS = ('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], '
                 '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"], .jp-RenderedMermaid.jp-mod-warning')
COVERING = ".jp-Dialog, .Toastify__toast"


def run_all_cells(page: Page) -> Locator:
    """Run every cell from the Run menu, as a learner would; return the notebook once each code cell has run."""
    notebook = page.locator(".jp-NotebookPanel:visible")
    expect(notebook.locator(".jp-CodeCell").first).to_be_visible(timeout=CELLS_TIMEOUT_MS)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=CELLS_TIMEOUT_MS)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    # Text content, not rendered text: cells out of view are not rendered (JupyterLab's content-visibility windowing).
    prompts = notebook.locator(".jp-CodeCell .jp-InputPrompt")
    deadline = time.monotonic() + CELLS_TIMEOUT_MS / 1000
    while not all(re.fullmatch(r"\[\d+\]:", text.strip()) for text in prompts.all_text_contents()):
        assert time.monotonic() < deadline, f"cells still running or not run: {prompts.all_text_contents()}"
        page.wait_for_timeout(200)
    expect(page.locator("#jp-main-statusbar")).to_contain_text("Idle", timeout=CELLS_TIMEOUT_MS)
    return notebook


def nothing_in_the_way(page: Page, notebook: Locator, name: str) -> None:
    """No error output, nothing covering the page, no question about Jupyter news, and the check says `[OK] Verified`."""
    errors = notebook.locator(ERROR_OUTPUTS)
    assert errors.count() == 0, f"{name}: error output shows: {errors.all_text_contents()}"
    covering = page.locator(COVERING)
    assert covering.count() == 0, f"{name}: something covers the page: {covering.all_text_contents()}"
    assert "official Jupyter news" not in page.content()
    check = cell(notebook, "nb.verify(").last  # the check; the exercises that follow it wait for the learner
    assert "[OK] Verified" in (check.text_content() or "")


def cell(notebook: Locator, source: str) -> Locator:
    """The code cell whose source holds `source`."""
    return notebook.locator(".jp-CodeCell", has=notebook.page.locator(".jp-InputArea", has_text=source))


@contextmanager
def chromium_page(profile: Path) -> Iterator[Page]:
    """A page of Debian's chromium, headless, with a profile of its own in a new folder; closed at the end."""
    assert Path(CHROMIUM).is_file(), f"no chromium at {CHROMIUM}: `make test` installs Debian's (make chromium)"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 1000})
        try:
            yield browser.new_page()
        finally:
            browser.close()
