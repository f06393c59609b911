"""Layer rules of app/, beyond the import contracts of .importlinter (run by `make check`, and here):

- the contracts hold (app/stats pure, views imported by create_app only, services without Flask, no import cycle);
- the service modules of the services contract never name request state or read the configuration, even through
  an import from elsewhere (a finer check than "imports no flask");
- no module that defines routes commits, no module keeps a cache of its own (app/cache.py is the one home), and the
  tenancy rule (a unit's path prefix) is written in one place.
"""
from __future__ import annotations

import ast
import configparser
from pathlib import Path

import grimp
import pytest

from tests.import_contracts import import_cycles

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
CONTRACTS = ROOT / ".importlinter"
#: What only a view may touch: the request and its context, and the rendering of URLs and flashes.
REQUEST_NAMES = {"request", "session", "g", "flash", "url_for"}


def contract_option(contract: str, option: str) -> list[str]:
    """Return the lines of one option of one contract in .importlinter."""
    parser = configparser.ConfigParser()
    parser.read(CONTRACTS, encoding="utf-8")
    return [line.strip() for line in parser[f"importlinter:contract:{contract}"][option].splitlines() if line.strip()]


SERVICES = [APP.parent / (module.replace(".", "/") + ".py") for module in
            contract_option("services-without-request", "source_modules")]
MODULES = sorted(APP.rglob("*.py"))


def source(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


# --- the contracts -------------------------------------------------------------------------------------------------


def test_the_import_contracts_are_kept(monkeypatch):
    from importlinter.cli import EXIT_STATUS_SUCCESS, lint_imports

    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(CONTRACTS), no_cache=True) == EXIT_STATUS_SUCCESS


def test_the_cycle_finder_reports_each_cycle_once_and_nothing_else():
    graph = grimp.ImportGraph()
    for importer, imported in [("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d"), ("p.e", "p.e"),
                               ("p.f", "p.d")]:
        graph.add_import(importer=importer, imported=imported)
    modules = {"p.a", "p.b", "p.c", "p.d", "p.e", "p.f"}
    assert import_cycles(graph, modules) == [["p.a", "p.b", "p.c"], ["p.e"]]
    assert import_cycles(graph, modules - {"p.b"}) == [["p.e"]]


def test_the_services_contract_names_modules_that_exist_in_every_feature():
    assert all(path.exists() for path in SERVICES), [str(path) for path in SERVICES if not path.exists()]
    assert {path.parent.name for path in SERVICES} >= {"units", "surveys", "contests", "organiser", "auth", "api"}


# --- services: no request state, no configuration ------------------------------------------------------------------


def violations(text: str) -> list[str]:
    """Return every use of request state or of current_app.config in a module, as "line: what"."""
    tree = ast.parse(text)
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


@pytest.mark.parametrize("path", SERVICES, ids=lambda path: str(path.relative_to(APP)))
def test_services_never_touch_the_request_or_read_the_config(path):
    assert violations(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("text, expected", [
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
def test_the_checker_finds_each_kind_of_violation(text, expected):
    assert violations(text) == expected


# --- commits, caches, tenancy --------------------------------------------------------------------------------------


def defines_routes(tree: ast.Module) -> bool:
    """Tell whether a module decorates functions with a blueprint's route methods."""
    return any(isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
               and decorator.func.attr in ("route", "get", "post") and isinstance(decorator.func.value, ast.Name)
               and decorator.func.value.id == "bp"
               for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) for decorator in node.decorator_list)


def commits(tree: ast.Module) -> list[int]:
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"]


def test_no_module_that_defines_routes_commits():
    route_modules = {path: source(path) for path in MODULES if defines_routes(source(path))}
    assert len(route_modules) >= 8
    assert {str(path.relative_to(APP)): commits(tree) for path, tree in route_modules.items() if commits(tree)} == {}


CACHE_NAMES = {"TTLCache", "LRUCache", "LFUCache", "Cache", "lru_cache", "cache", "cached"}


def private_caches(tree: ast.Module) -> list[str]:
    """Return the cache libraries and decorators a module uses on its own (cachetools, functools.cache …)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("cachetools", "functools"):
            found += [f"{node.module}.{alias.name}" for alias in node.names if alias.name in CACHE_NAMES]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name == "cachetools"]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "functools" \
                and node.attr in CACHE_NAMES:
            found.append(f"functools.{node.attr}")
    return found


def test_no_module_keeps_a_cache_outside_app_cache():
    assert {str(path.relative_to(APP)): private_caches(source(path)) for path in MODULES
            if path.name != "cache.py" or path.parent != APP if private_caches(source(path))} == {}


def test_the_cache_check_finds_each_kind_of_private_cache():
    text = ("import functools\nfrom functools import lru_cache\nfrom cachetools import TTLCache\n"
            "@functools.cache\ndef f(): pass\n")
    assert private_caches(ast.parse(text)) == ["functools.lru_cache", "cachetools.TTLCache", "functools.cache"]


def test_the_tenancy_rule_is_written_once():
    """A unit's subtree is its path prefix: only Unit.is_within (Python and SQL) spells it."""
    spelled = {str(path.relative_to(APP)): path.read_text(encoding="utf-8").count("path.startswith(")
               for path in MODULES}
    assert {name: count for name, count in spelled.items() if count} == {"units/models.py": 2}
