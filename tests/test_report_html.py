"""The HTML report (`snakemake --report`) opened in headless Chromium: tables and figures render.

A fixture runs the cheap part of the workflow (the law stage and the report pages of its table and
figure) in a mirror of the checkout, builds the report from it, and opens it in Debian's chromium,
driven through the DevTools protocol because the report is a React app that renders in the browser.
Screenshots go to results/report_test/ for a person to look at.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "cluster"))
from workflow_run import ROOT, make_mirror, snakemake  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The report's own pages for the law stage's table and figure; making them runs the law stage.
PAGES = ["results/report/tables/table_seeds.html", "results/report/figures/figure_seeds.png"]
# One law is enough to see a table and a figure render, at half the cost (--config comes last: it
# takes every argument after it).
ONE_LAW = ["--config", 'laws=["gdpr"]']
SHOTS = ROOT / "results" / "report_test"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1400,1000"]


def loud_skip(config, reason: str) -> None:
    """Skip, with a line in the test log whether or not pytest captures output."""
    capture = config.pluginmanager.get_plugin("capturemanager")
    line = f"\n*** BROWSER TEST SKIPPED: {reason} ***"
    if capture is None:
        print(line, file=sys.stderr, flush=True)
    else:
        with capture.global_and_fixture_disabled():
            print(line, file=sys.stderr, flush=True)
    pytest.skip(f"BROWSER TEST SKIPPED: {reason}")


def chromium(config) -> str:
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        loud_skip(config, "chromium is not installed and cannot be (needs root and apt-get)")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if done.returncode != 0:
            loud_skip(config, f"installing chromium failed: {done.stderr.strip()[-500:]}")
    found = shutil.which("chromium")
    if not found:
        loud_skip(config, "chromium was installed but is not on PATH")
    return found


def caption_text(stem: str) -> str:
    """The first sentence of a caption file, as the report shows it (markup removed)."""
    text = (ROOT / "workflow" / "report" / f"{stem}.rst").read_text(encoding="utf-8")
    plain = re.sub(r"[*`]", "", " ".join(text.split()))
    return plain.split(". ")[0].split(",")[0]


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    mirror = make_mirror(tmp_path_factory.mktemp("report") / "checkout")
    run = snakemake(["--cores", "1", *PAGES, *ONE_LAW], cwd=mirror, timeout=900)
    assert run.returncode == 0, f"the law stage and its report pages failed:\n{run.stderr[-4000:]}"
    built = snakemake(["--report", "report.html", *PAGES, *ONE_LAW], cwd=mirror)
    assert built.returncode == 0, f"snakemake --report failed:\n{built.stderr[-4000:]}"
    return mirror / "report.html"


class Browser:
    """Headless Chromium on one page, spoken to over the DevTools protocol (tornado's websocket)."""

    def __init__(self, binary: str, profile: Path):
        self.proc = subprocess.Popen([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                                      "--remote-debugging-port=0", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.2)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            pages = [t for t in json.load(reply) if t["type"] == "page"]
        self.ws_url = pages[0]["webSocketDebuggerUrl"]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Page:
    def __init__(self, conn):
        self.conn, self.next_id = conn, 0

    async def call(self, method: str, **params):
        self.next_id += 1
        my_id = self.next_id
        await self.conn.write_message(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            raw = await self.conn.read_message()
            if raw is None:
                raise RuntimeError("chromium closed the connection")
            message = json.loads(raw)
            if message.get("id") == my_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    async def js(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = await self.js(expression)
            if value:
                return value
            await asyncio.sleep(0.25)
        raise AssertionError(f"timed out waiting for `{expression}`")

    async def screenshot(self, path: Path) -> None:
        shot = await self.call("Page.captureScreenshot", format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    async def frame_texts(self) -> list[str]:
        """The text of every iframe's document (data: URIs are cross-origin for JS, not for DevTools)."""
        doc = await self.call("DOM.getDocument", depth=-1, pierce=True)
        texts: list[str] = []

        def walk(node, inside):
            if node.get("nodeName") == "IFRAME" and "contentDocument" in node:
                bucket: list[str] = []
                walk(node["contentDocument"], bucket)
                texts.append(" ".join(bucket))
                return
            if node.get("nodeType") == 3 and inside is not None:
                inside.append(node.get("nodeValue", ""))
            elif node.get("nodeName") == "TABLE" and inside is not None:
                inside.append("<TABLE>")
            for child in node.get("children", []):
                walk(child, inside)

        walk(doc["root"], None)
        return texts


async def inspect(ws_url: str, report: Path) -> dict:
    from tornado.websocket import websocket_connect

    conn = await websocket_connect(ws_url, max_message_size=256 * 1024 * 1024)
    page = Page(conn)
    try:
        await page.call("Page.enable")
        await page.call("DOM.enable")
        await page.call("Page.navigate", url=report.as_uri())
        await page.wait_for("typeof app !== 'undefined' && typeof results !== 'undefined'")
        await page.wait_for("document.body.textContent.includes('Results')")
        await page.screenshot(SHOTS / "report_home.png")
        seen = {}
        for path in await page.js("Object.keys(results)"):
            stem = Path(path).stem
            await page.js(f"app.showResultInfo({json.dumps(path)})")
            await asyncio.sleep(0.5)
            info = await page.js("document.querySelector('#app').textContent")
            mime = await page.js(f"getResultMimeType({json.dumps(path)})")
            content = "html" if mime == "text/html" else "img" if mime.startswith("image/") else None
            if content is None:     # the report offers other files for download only
                seen[stem] = {"info": info, "rendered": "", "mime": mime}
                continue
            await page.js(f"app.setView({{content: '{content}', contentPath: results[{json.dumps(path)}].data_uri,"
                          f" resultPath: {json.dumps(path)}}})")
            if content == "img":
                await page.wait_for("[...document.images].some(i => i.src.startsWith('data:image')"
                                    " && i.complete && i.naturalWidth > 100)")
                rendered = "image"
            else:
                await page.wait_for("document.querySelector('iframe') !== null")
                await asyncio.sleep(1.0)
                rendered = " ".join(await page.frame_texts())
            await page.screenshot(SHOTS / f"{stem}.png")
            seen[stem] = {"info": info, "rendered": rendered, "mime": mime}
        return seen
    finally:
        conn.close()


@pytest.fixture(scope="module")
def rendered(report, pytestconfig) -> dict:
    binary = chromium(pytestconfig)
    browser = Browser(binary, Path(tempfile.mkdtemp(prefix="chromium-profile-")))
    try:
        return asyncio.run(asyncio.wait_for(inspect(browser.ws_url, report), timeout=240))
    finally:
        browser.close()


def test_report_lists_every_page(rendered):
    assert set(rendered) == {Path(p).stem for p in PAGES}


def test_tables_render_with_their_captions(rendered):
    for stem, seen in rendered.items():
        if seen["mime"] != "text/html":
            continue
        assert caption_text(stem) in seen["info"], f"caption of {stem} not shown"
        assert "<TABLE>" in seen["rendered"], f"{stem}: no table rendered:\n{seen['rendered'][:500]}"
        # The stage's own caption heads the page, and the numbers are there.
        assert "Seeds per chapter" in seen["rendered"] and "total" in seen["rendered"]


def test_figures_render_with_their_captions(rendered):
    figures = {stem: seen for stem, seen in rendered.items() if seen["mime"].startswith("image/")}
    assert figures, "no figure in the report"
    for stem, seen in figures.items():
        assert caption_text(stem) in seen["info"], f"caption of {stem} not shown"
        assert seen["rendered"] == "image"
    assert (SHOTS / "report_home.png").stat().st_size > 10_000
