"""app/stats stays pure: its modules import only numpy, scipy, the standard library and each other."""

import ast
import sys
from pathlib import Path

import pytest

STATS = Path(__file__).resolve().parent.parent / "app" / "stats"
ALLOWED_ROOTS = {"numpy", "scipy"} | set(sys.stdlib_module_names)


def forbidden_imports(source: str) -> list[str]:
    """Return the imports of a module of app.stats that reach outside numpy, scipy, stdlib and app.stats."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: only within the package itself
                if node.level > 1:
                    found.append("." * node.level + (node.module or ""))
                continue
            names = [node.module or ""]
        else:
            continue
        for name in names:
            if name.split(".")[0] not in ALLOWED_ROOTS and name != "app.stats" and not name.startswith("app.stats."):
                found.append(name)
    return found


@pytest.mark.parametrize("module", sorted(STATS.glob("*.py")), ids=lambda path: path.name)
def test_stats_module_imports_only_numpy_scipy_stdlib_and_app_stats(module):
    assert forbidden_imports(module.read_text(encoding="utf-8")) == []


def test_the_import_check_catches_flask_sqlalchemy_werkzeug_and_other_app_packages():
    source = (
        "import flask\nfrom sqlalchemy import select\nimport werkzeug.utils\nfrom app.units import models\n"
        "from app import db\nfrom .. import config\nimport numpy as np\nfrom app.stats import intervals\n"
    )
    assert forbidden_imports(source) == ["flask", "sqlalchemy", "werkzeug.utils", "app.units", "app", ".."]


def test_the_stats_package_has_modules_to_check():
    assert (STATS / "satisfaction.py").exists() and (STATS / "__init__.py").exists()
