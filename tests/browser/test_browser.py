"""What a learner sees in JupyterLab, in a real browser: notebooks 00 and 04 run and render, with nothing in the way.

JupyterLab starts as `make lab` starts it (the lab's own settings from etc/jupyter, what the server writes in a folder
of the test's own), on a port and token of its own, over a copy of the notebooks (JupyterLab's autosave never writes
into the stored ones). Debian's chromium, headless, driven by Playwright (`make test`
installs chromium when it is missing; Playwright cannot download a browser of its own here), opens each notebook,
runs all its cells from the Run menu, and checks:

- every code cell ran, and the last check cell (`nb.verify`) says `[OK] Verified`;
- no error output shows in any cell, and no dialog or notification covers the page (no question about Jupyter news);
- notebook 04: the index table renders as an HTML table, and the Mermaid diagram as an SVG with one node per manifest
  of that table, for the same platforms;
- the server's log has no kernel warning about TCP without encryption.

Screenshots go to build/browser/.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest
from playwright.sync_api import Locator, expect

from bench.first import answers, free_port
from labkit.docker.endpoints import Endpoints
from tests.support.browser import REPO, SCREENSHOTS, cell, chromium_page, nothing_in_the_way, run_all_cells
from tests.support.signals import with_default_signals

NOTEBOOKS = REPO / "notebooks"
SVG = "http://www.w3.org/2000/svg"


@dataclass(frozen=True)
class JupyterLab:
    """A JupyterLab server the test started: where it answers, its token, its log."""

    url: str
    token: str
    log: Path

    def page_of(self, notebook: str) -> str:
        """The notebook's page, in a workspace of its own (`reset`: no tab of an earlier page)."""
        return f"{self.url}/lab/tree/{notebook}?reset&token={self.token}"


@pytest.fixture
def jupyterlab(tmp_path: Path) -> Iterator[JupyterLab]:
    """JupyterLab with the lab's settings, as `make lab` starts it, over a copy of the notebooks; stopped at the end."""
    notebooks = shutil.copytree(NOTEBOOKS, tmp_path / "notebooks")
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_PATH": str(REPO / "etc" / "jupyter"), "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_TOKEN": token, "JUPYTER_PORT": str(port)}
    log = tmp_path / "jupyterlab.log"
    root = ["--allow-root"] if os.geteuid() == 0 else []
    with log.open("w") as output:
        server = subprocess.Popen(with_default_signals([sys.executable, "-m", "jupyterlab", "--ip=127.0.0.1", "--no-browser", *root,
                                                        "--ServerApp.port_retries=0", f"--ServerApp.root_dir={notebooks}"]),
                                  env=env, cwd=REPO, stdout=output, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not answers(f"{url}/api/status?token={token}"):
            assert server.poll() is None, f"JupyterLab exited ({server.returncode}):\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"JupyterLab did not answer within 60 s:\n{log.read_text()[-3000:]}"
            time.sleep(0.1)
        yield JupyterLab(url, token, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _screenshot(element: Locator, path: Path) -> None:
    """An element's picture, once scrolling to it has settled (cells out of view take their size when they render)."""
    element.scroll_into_view_if_needed()
    element.page.wait_for_timeout(500)
    element.scroll_into_view_if_needed()
    element.screenshot(path=path)


def test_notebooks_00_and_04_run_and_render_in_a_real_browser(endpoints: Endpoints, jupyterlab: JupyterLab, tmp_path: Path) -> None:
    with chromium_page(tmp_path / "chromium-profile") as page:
        page.goto(jupyterlab.page_of("00_start_here.ipynb"))
        notebook = run_all_cells(page)
        nothing_in_the_way(page, notebook, "00_start_here")
        expect(cell(notebook, "environment_check").locator(".jp-OutputArea-output")).to_contain_text("[OK]")
        page.screenshot(path=SCREENSHOTS / "00_start_here.png")

        page.goto(jupyterlab.page_of("04_inspect_the_index.ipynb"))
        notebook = run_all_cells(page)
        nothing_in_the_way(page, notebook, "04_inspect_the_index")

        table = cell(notebook, "index_table(report)").locator(".jp-OutputArea-output table")
        expect(table).to_have_count(1)
        # The column headed "platform", read cell by cell in the DOM (th or td alike).
        headers = table.evaluate("t => [...t.tHead.rows[t.tHead.rows.length - 1].cells].map(c => c.textContent.trim())")
        assert "platform" in headers, f"the index table has no platform column: {headers}"
        assert headers[0] == "platform", f"the index table shows a row-number column first: {headers}"
        platforms = sorted(table.evaluate(
            "(t, i) => [...t.tBodies[0].rows].map(r => r.cells[i].textContent.trim())", headers.index("platform")))
        assert len(platforms) == 4, f"the index table has {len(platforms)} manifests, expected 2 images and 2 attestations"
        _screenshot(table, SCREENSHOTS / "04_index_table.png")

        # JupyterLab renders a Mermaid diagram to an SVG and shows it as an image (a data URL).
        diagram = cell(notebook, "show_mermaid").locator(".jp-RenderedMermaid img")
        expect(diagram).to_have_count(1, timeout=30_000)
        diagram.scroll_into_view_if_needed()
        assert diagram.evaluate("image => image.complete && image.naturalWidth > 0"), "the diagram's image did not load"
        kind, _, data = (diagram.get_attribute("src") or "").partition(",")
        assert kind == "data:image/svg+xml", f"the diagram is not an SVG: {kind}"
        svg = ElementTree.fromstring(urllib.parse.unquote(data))
        assert svg.tag == f"{{{SVG}}}svg"
        labels = [" ".join(text.strip() for text in node.itertext() if text.strip())
                  for node in svg.iter(f"{{{SVG}}}g") if "node" in (node.get("class") or "").split()]
        manifests = sorted(found.group(2) for label in labels if (found := re.fullmatch(r"(manifest|attestation) (\S+)", label)))
        assert manifests == platforms, f"diagram nodes {labels} do not match the table's manifests {platforms}"
        _screenshot(diagram, SCREENSHOTS / "04_index_diagram.png")
        page.screenshot(path=SCREENSHOTS / "04_inspect_the_index.png")
    warnings = [line for line in jupyterlab.log.read_text().splitlines() if "without encryption" in line]
    assert warnings == [], f"the server's kernels warn: {warnings[0]}"
