"""Browser fixtures: Debian's Chromium driven by Playwright against a live gunicorn server with its own database.

The suite skips when Chromium or Playwright is missing, and fails instead under STRICT=1 (CI). Screenshots of
every final page land in tests/artifacts/ (git-ignored).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import unavailable
from tests.e2e.server import ROOT, LiveServer, prepare_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "tests" / "artifacts"
#: axe-core, installed from the npm registry into a cache folder on first use (pinned for reproducible rules).
AXE_VERSION = "4.14.1"
AXE_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hailong" / f"axe-core-{AXE_VERSION}"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "locale": "vi-VN"}
DESKTOP = {"viewport": {"width": 1366, "height": 900}, "locale": "vi-VN"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder as a browser test."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    """Serve the demo province with gunicorn (2 workers) on a free loopback port; SQLite only."""
    if request.config.getoption("--db") != "sqlite":
        pytest.skip("browser suites run on SQLite only (the server has its own database)")
    # Every browser test submits from 127.0.0.1 to this one server: since the workers share one rate-limit store
    # (issue 17), the citizen's "30 per minute" would count the whole suite's survey posts together. The limits
    # themselves are tested in tests/security and tests/test_rate_limits.py.
    server = prepare_server(tmp_path_factory.mktemp("live"), HAILONG_SURVEY_RATE_LIMIT="1000 per minute")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser(live_server: LiveServer):
    """Launch Debian's Chromium headless through Playwright, once per run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        unavailable(f"Playwright is not installed: {error}")
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def phone(browser):
    """A fresh phone-sized browser context (390×844, touch, Vietnamese)."""
    context = browser.new_context(**PHONE)
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def phone_without_js(browser):
    """A phone-sized context with JavaScript disabled, as on a locked-down or very old phone."""
    context = browser.new_context(java_script_enabled=False, **PHONE)
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def desktop(browser):
    """A fresh desktop-sized context that accepts downloads."""
    context = browser.new_context(accept_downloads=True, **DESKTOP)
    context.set_default_timeout(15_000)
    yield context
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot of the final page into tests/artifacts/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="session")
def axe_source() -> str:
    """Return axe.min.js, installing axe-core from the npm registry into a cache folder the first time."""
    script = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if npm is None:
            unavailable("npm is not installed, so axe-core cannot be fetched (apt-get install npm)")
        AXE_CACHE.mkdir(parents=True, exist_ok=True)
        result = subprocess.run([npm, "install", "--prefix", str(AXE_CACHE), "--no-save", "--no-audit", "--no-fund",
                                 "--ignore-scripts", f"axe-core@{AXE_VERSION}"],
                                capture_output=True, text=True, timeout=300)
        if result.returncode != 0 or not script.exists():
            unavailable(f"npm could not install axe-core@{AXE_VERSION}: {result.stderr.strip()[-500:]}")
    return script.read_text(encoding="utf-8")


def serious_violations(page, axe_source: str) -> list[dict]:
    """Run axe-core (WCAG 2.x A/AA rules) in the page; return the serious and critical violations, summarised."""
    # Evaluated through the DevTools protocol, which the page's CSP (no inline scripts) does not govern.
    page.evaluate(axe_source)
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return r.violations;
    }""")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result if v["impact"] in ("serious", "critical")]


def assert_accessible(page, axe_source: str, name: str) -> None:
    """Fail with a readable list when axe-core finds a serious or critical violation on the page."""
    violations = serious_violations(page, axe_source)
    assert not violations, f"{name}: " + json.dumps(violations, ensure_ascii=False, indent=1)
