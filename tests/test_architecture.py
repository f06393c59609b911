"""Layer rules checked on the source: services take plain values and never reach into the request or the config."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = sorted((ROOT / "app").glob("*/services.py"))
#: What only a view may touch: the request and its context, and the rendering of URLs and flashes.
REQUEST_NAMES = {"request", "session", "g", "flash", "url_for"}


def violations(source: str) -> list[str]:
    """Return every use of request state or of current_app.config in a module, as "line: what"."""
    tree = ast.parse(source)
    found = []
    flask_aliases = set()
    app_proxies = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "flask":
            for alias in node.names:
                if alias.name in REQUEST_NAMES:
                    found.append(f"{node.lineno}: imports flask.{alias.name}")
                if alias.name == "current_app":
                    app_proxies.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module in ("flask.globals", "flask.helpers"):
            found.extend(f"{node.lineno}: imports {node.module}.{alias.name}" for alias in node.names
                         if alias.name in REQUEST_NAMES | {"current_app"})
        elif isinstance(node, ast.Import):
            flask_aliases.update(alias.asname or alias.name for alias in node.names if alias.name == "flask")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in flask_aliases and node.attr in REQUEST_NAMES:
            found.append(f"{node.lineno}: uses flask.{node.attr}")
        if node.attr == "config" and (
            (isinstance(owner, ast.Name) and owner.id in app_proxies)
            or (isinstance(owner, ast.Attribute) and owner.attr == "current_app"
                and isinstance(owner.value, ast.Name) and owner.value.id in flask_aliases)
        ):
            found.append(f"{node.lineno}: reads current_app.config")
    return sorted(found)


def test_there_are_services_modules_to_check():
    assert {path.parent.name for path in SERVICES} >= {"surveys", "units"}


@pytest.mark.parametrize("path", SERVICES, ids=lambda path: f"{path.parent.name}/services.py")
def test_services_never_touch_the_request_or_read_the_config(path):
    assert violations(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("source, expected", [
    ("from flask import request\n", ["1: imports flask.request"]),
    ("from flask import session as s, g\n", ["1: imports flask.g", "1: imports flask.session"]),
    ("from flask import url_for, flash\n", ["1: imports flask.flash", "1: imports flask.url_for"]),
    ("import flask\nx = flask.request.args\n", ["2: uses flask.request"]),
    ("from flask import current_app\nx = current_app.config['A']\n", ["2: reads current_app.config"]),
    ("from flask import current_app as app\nx = app.config.get('A')\n", ["2: reads current_app.config"]),
    ("import flask\nx = flask.current_app.config\n", ["2: reads current_app.config"]),
    ("from flask.globals import request\n", ["1: imports flask.globals.request"]),
    ("from flask import current_app\nlog = current_app.logger\n", []),
    ("from flask_babel import lazy_gettext as _l\nconfig = {}\nx = config['a']\n", []),
])
def test_the_checker_finds_each_kind_of_violation(source, expected):
    assert violations(source) == expected
