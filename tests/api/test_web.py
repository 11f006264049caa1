"""The web page at `/`: served with strict headers and no external assets, and used for real in Debian's
headless Chromium driven by Playwright (founding example 003 pasted verbatim, a file uploaded, bad input)."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from lossdoctor.api import web
from lossdoctor.app import create_app
from lossdoctor.config import Config
from tests.conftest import DATA, free_port

STATIC = Path(web.__file__).parent / "static"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EXAMPLE_003 = next((DATA / "examples").glob("003_*.txt"))
EXAMPLE_000 = next((DATA / "examples").glob("000_*.txt"))
EXAMPLE_001 = next((DATA / "examples").glob("001_*.txt"))
TIMEOUT_MS = 30_000  # the first plot imports matplotlib in the server; a busy CI machine is slow

needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="Debian's /usr/bin/chromium is not installed (tests/run.sh installs it)")


# ---------------------------------------------------------------------------------------------- plain HTTP


def test_page_is_html_with_a_strict_content_security_policy(client: FlaskClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.mimetype == "text/html" and r.mimetype_params.get("charset") == "utf-8"
    csp = r.headers["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in (p.strip() for p in csp.split(";")) if d}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    html = r.get_data(as_text=True)
    for element_id in ("log", "diagnose", "file", "upload", "verdict", "findings", "plot", "problem", "report-link"):
        assert f'id="{element_id}"' in html
    # Nothing inline the policy would block: no inline script, style element, style attribute or handler.
    assert re.findall(r"<script\b[^>]*>", html) == ['<script src="/static/app.js" defer>']
    assert "<style" not in html and not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+\s*=", html)


def test_head_of_the_page_has_the_same_headers(client: FlaskClient) -> None:
    r = client.head("/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert r.headers["Content-Security-Policy"] == web.CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(("name", "mimetype"), [("app.js", "text/javascript"), ("style.css", "text/css")])
def test_assets_are_served_with_their_content_type(client: FlaskClient, name: str, mimetype: str) -> None:
    r = client.get(f"/static/{name}")
    assert r.status_code == 200
    assert r.mimetype == mimetype and r.mimetype_params.get("charset") == "utf-8"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Security-Policy"] == web.CONTENT_SECURITY_POLICY
    assert r.data == (STATIC / name).read_bytes()


def test_every_asset_the_page_names_is_served(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    referenced = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert sorted(referenced) == ["/static/app.js", "/static/style.css"]
    for url in referenced:
        assert client.get(url).status_code == 200, url


def test_no_external_url_in_the_page_or_its_assets() -> None:
    files = sorted(STATIC.iterdir())
    assert {f.name for f in files} >= {"index.html", "app.js", "style.css"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"https?://|(?:src|href|url)\s*[=(]\s*[\"']?//", text, re.I), path.name
        assert "@import" not in text, path.name


def test_the_script_never_writes_html() -> None:
    """User and API text reaches the DOM through text nodes only: no HTML sinks, no eval."""
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                 "setAttribute(\"on", "javascript:"):
        assert sink not in script, sink


@pytest.mark.parametrize("name", ["nope.js", "index.html", "app.js.map", "APP.JS", "..web.py", "%00.js"])
def test_an_unknown_asset_is_a_404_problem_with_the_same_headers(client: FlaskClient, name: str) -> None:
    r = client.get(f"/static/{name}")
    assert r.status_code == 404
    assert r.mimetype == "application/problem+json"
    assert "app.js" in r.get_json()["detail"]
    assert r.headers["Content-Security-Policy"] == web.CONTENT_SECURITY_POLICY
    assert r.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/static/..%2fweb.py", "/static/../web.py", "/static/sub/app.js"])
def test_no_path_outside_the_assets_is_served(client: FlaskClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404 and r.mimetype == "application/problem+json"


def test_the_api_keeps_its_own_headers(client: FlaskClient) -> None:
    """The page's policy is set on the page's answers only; the API's JSON answers are left as they were."""
    r = client.get("/healthz")
    assert "Content-Security-Policy" not in r.headers


# ---------------------------------------------------------------------------------------------- in Chromium


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The real app on a loopback port (werkzeug, threaded), with its embedded cache."""
    httpd = make_server("127.0.0.1", free_port(), create_app(Config()), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="web-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's /usr/bin/chromium is not installed (tests/run.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Page:
    """A fresh page on the app, and everything the browser complained about while it was used."""

    page: Any
    base: str
    console: list[str] = field(default_factory=list)

    def open(self, path: str = "/") -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_selector("body[data-ready=true]", state="attached")

    def problems(self, allow: str | None = None) -> list[str]:
        """Console errors and warnings, uncaught exceptions and CSP violations (minus those matching allow)."""
        violations = self.page.evaluate("window.__cspViolations || []")
        found = self.console + [f"CSP violation: {v}" for v in violations]
        return [m for m in found if allow is None or not re.search(allow, m)]

    def paste_and_diagnose(self, text: str) -> None:
        self.page.fill("#log", text)
        self.page.click("#diagnose")

    def wait_for_plot(self) -> None:
        self.page.wait_for_function("() => { const i = document.getElementById('plot');"
                                    " return i.complete && i.naturalWidth > 0; }", timeout=TIMEOUT_MS)


@pytest.fixture
def web_page(browser: Any, server: str, tmp_path: Path) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    # Recorded before any of the page's own code runs (init scripts are not subject to the page's CSP).
    context.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                            "(window.__cspViolations = window.__cspViolations || [])"
                            ".push(e.violatedDirective + ' ' + e.blockedURI));")
    page = context.new_page()
    tab = Page(page, server)
    page.on("console", lambda m: tab.console.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: tab.console.append(f"page error: {e}"))
    try:
        yield tab
    finally:
        shots = os.environ.get("LOSSDOCTOR_SCREENSHOT_DIR")
        if shots:
            name = os.environ.get("PYTEST_CURRENT_TEST", "page").split("::")[-1].split(" ")[0]
            page.screenshot(path=str(Path(shots) / f"{name}.png"), full_page=True)
        context.close()


# A 4xx answer to fetch() is logged by Chromium itself; on purpose in the bad-input test, an error anywhere else.
NETWORK_4XX = r"^console error: Failed to load resource: the server responded with a status of 4\d\d"


@needs_chromium
@pytest.mark.slow
def test_003_pasted_verbatim_shows_overfitting_from_epoch_3_and_the_plot(web_page: Page) -> None:
    page = web_page.page
    web_page.open()
    web_page.paste_and_diagnose(EXAMPLE_003.read_text(encoding="utf-8"))

    finding = page.wait_for_selector("#findings [data-code=overfitting]")
    assert finding.get_attribute("data-severity") == "warning"
    assert finding.get_attribute("data-basis") == "metrics"
    onset = page.locator("#findings [data-code=overfitting] .onset")
    assert onset.get_attribute("data-onset-epoch") == "3"
    assert onset.inner_text() == "from epoch 3"
    assert page.locator("#findings .finding").count() == 1  # the noise in epochs 75-77 is not a pathology
    row = page.locator("#findings [data-code=overfitting] .evidence tr[data-key=best_val_loss] td")
    assert row.inner_text() == "0.3736"
    fixes = page.locator("#findings [data-code=overfitting] .fixes li")
    assert fixes.first.get_attribute("data-action") == "restore_best_checkpoint"
    assert "epoch 3" in fixes.first.inner_text()

    assert page.get_attribute("#verdict", "data-status") == "unhealthy"
    assert page.text_content("#verdict-status") == "Unhealthy"
    assert page.inner_text("#verdict-headline") == "overfitting from epoch 3"
    assert page.is_visible("#result") and page.is_hidden("#problem") and page.is_hidden("#code-section")

    web_page.wait_for_plot()
    src = page.get_attribute("#plot", "src")
    assert src is not None and re.fullmatch(r"/v1/diagnoses/[0-9a-f]{32}/plot\.svg", src)
    diagnosis = src.removesuffix("/plot.svg")
    assert page.get_attribute("#report-link", "href") == f"{diagnosis}/report.md"
    report = page.request.get(web_page.base + f"{diagnosis}/report.md")
    assert report.ok and "overfitting" in report.text()
    assert page.evaluate("location.hash") == f"#{diagnosis.removeprefix('/v1')}"

    # The permalink shows the stored diagnosis again, in a page that has not seen the paste.
    page.reload()
    page.wait_for_selector("#findings [data-code=overfitting] .onset[data-onset-epoch='3']")
    web_page.wait_for_plot()
    assert web_page.problems() == []


@needs_chromium
@pytest.mark.slow
def test_an_uploaded_file_shows_its_finding(web_page: Page) -> None:
    page = web_page.page
    web_page.open()
    page.set_input_files("#file", str(DATA / "payloads" / "000_val_spike.json"))
    page.click("#upload")
    finding = page.wait_for_selector("#findings [data-code=val_spike]")
    assert finding.get_attribute("data-severity") == "error"
    assert page.get_attribute("#findings [data-code=val_spike] .onset", "data-onset-epoch") == "3"
    assert page.get_attribute("#verdict", "data-severity") == "error"
    assert '"000_val_spike.json"' in page.inner_text("#verdict-source")
    web_page.wait_for_plot()
    assert web_page.problems() == []


@needs_chromium
@pytest.mark.slow
def test_bad_input_shows_the_problem_detail_and_the_page_keeps_working(web_page: Page) -> None:
    page = web_page.page
    web_page.open()

    web_page.paste_and_diagnose("   \n")
    page.wait_for_selector("#problem", state="visible")
    assert page.inner_text("#problem-title") == "Invalid input"
    assert page.inner_text("#problem-detail") == "the text is empty: paste the training log or the whole post"
    assert page.is_hidden("#result")

    page.click("#upload")  # no file chosen: said on the page, nothing sent
    page.wait_for_selector("#problem-title:text('No file chosen')")

    page.set_input_files("#file", {"name": "run.bin", "mimeType": "application/octet-stream",
                                   "buffer": b"\x00\x01\x02 not a training log \xff\xfe"})
    page.click("#upload")
    page.wait_for_selector("#problem-title:text('Unsupported format')")
    detail = page.inner_text("#problem-detail")
    assert "not UTF-8" in detail and "supported formats: tensorboard" in detail
    assert page.is_hidden("#result")

    web_page.paste_and_diagnose(EXAMPLE_003.read_text(encoding="utf-8"))  # and a good paste still works
    page.wait_for_selector("#findings [data-code=overfitting]")
    assert page.is_hidden("#problem")
    assert web_page.problems(allow=NETWORK_4XX) == []
    assert len(web_page.problems()) == 2  # exactly the two 4xx answers


@needs_chromium
@pytest.mark.slow
def test_a_post_without_numbers_shows_findings_from_the_description(web_page: Page) -> None:
    page = web_page.page
    web_page.open()
    web_page.paste_and_diagnose(EXAMPLE_001.read_text(encoding="utf-8"))
    finding = page.wait_for_selector("#findings [data-code=overfitting]")
    assert finding.get_attribute("data-basis") == "description"
    assert page.is_visible("#findings [data-code=overfitting] .basis-note")
    assert page.inner_text("#findings [data-code=overfitting] .onset") == "onset unknown"
    assert page.inner_text("#verdict-headline") == "overfitting, from your description"
    assert "no numbers confirm it" in page.inner_text("#verdict-summary").lower()
    assert page.is_hidden("#plot")  # no curves: no plot asked for
    assert page.inner_text("#plot-caption").startswith("No curves to plot")
    assert web_page.problems() == []


@needs_chromium
@pytest.mark.slow
def test_text_without_a_curve_is_insufficient_data(web_page: Page) -> None:
    page = web_page.page
    web_page.open()
    web_page.paste_and_diagnose("hello, here is my question")
    page.wait_for_selector("#verdict[data-status=insufficient_data]")
    assert page.text_content("#verdict-status") == "Not enough data"
    assert "No loss curve with at least 3 points" in page.inner_text("#verdict-summary")
    assert page.locator("#findings .finding").count() == 0
    assert page.is_hidden("#plot")
    assert web_page.problems() == []


@needs_chromium
@pytest.mark.slow
def test_pasted_code_findings_are_shown_and_linked_to_the_finding(web_page: Page) -> None:
    page = web_page.page
    web_page.open()
    web_page.paste_and_diagnose(EXAMPLE_000.read_text(encoding="utf-8"))
    page.wait_for_selector("#findings [data-code=val_spike]")
    assert page.is_visible("#code-section")
    rule = page.locator("#code-findings [data-rule=batchnorm_after_recurrent]")
    assert rule.locator("pre code").inner_text() == "x = self.bn(x)"
    assert "val spike" in rule.locator(".explains").inner_text()
    assert page.locator("#code-findings [data-rule=embedding_from_pretrained_discarded]").count() == 1
    web_page.wait_for_plot()
    assert web_page.problems() == []


@needs_chromium
@pytest.mark.slow
def test_markup_in_user_text_stays_text(web_page: Page) -> None:
    """A file name full of markup is shown as those characters; no element is made from it, nothing runs."""
    page = web_page.page
    web_page.open()
    name = "<img src=x onerror=document.title='pwned'><b>run</b>.json"
    page.set_input_files("#file", {"name": name, "mimeType": "application/json",
                                   "buffer": (DATA / "payloads" / "003_overfitting.json").read_bytes()})
    page.click("#upload")
    page.wait_for_selector("#findings [data-code=overfitting]")
    assert name in page.inner_text("#verdict-source")
    assert page.locator("#verdict img, #verdict b").count() == 0
    assert page.title() != "pwned"
    web_page.wait_for_plot()
    assert web_page.problems() == []
