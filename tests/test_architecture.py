"""The import rules of docs/architecture.md, checked on the source: who may import whom.

Imports under ``if TYPE_CHECKING:`` are annotations only and do not count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from miniservice.paths import PACKAGE_DIR

FEATURES = {"admin", "audit", "citizens", "devtools", "family", "outbox", "payments", "quotes", "reminders",
            "rulebook"}
# A feature's entry points: what a request, a tap or a command reaches. Only the feature's own
# ``init_app`` (its package's ``__init__``) and the app factory import them.
ENTRY_MODULES = {"views", "api", "wechat_handlers", "cli", "admin_views"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.AST) -> Iterator[str]:
    """Every ``miniservice`` module a file imports when it runs (``from x import y`` yields x and x.y)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("miniservice"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and \
                node.module.startswith("miniservice"):
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _imports() -> dict[str, set[str]]:
    return {_module_name(path): set(_runtime_imports(ast.parse(path.read_text(encoding="utf-8"))))
            for path in PACKAGE_DIR.rglob("*.py") if "migrations" not in path.parts}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _is_entry(module: str) -> bool:
    parts = module.split(".")
    return _package(module) in FEATURES and (parts[-1] in ENTRY_MODULES or parts[1:3] == ["admin", "views"])


def test_the_rules_import_nothing_of_the_service_but_the_rules_and_where_the_rule_files_are() -> None:
    wrong = {f"{module} -> {name}" for module, names in _imports().items() if _package(module) == "rules"
             for name in names if _package(name) not in ("rules", "paths")}
    assert wrong == set()


def test_the_wechat_boundary_knows_no_feature() -> None:
    wrong = {f"{module} -> {name}" for module, names in _imports().items() if _package(module) == "wechat"
             for name in names if _package(name) in FEATURES}
    assert wrong == set()


def test_a_features_pages_answers_and_commands_are_imported_only_by_itself_and_the_factory() -> None:
    wrong = {f"{module} -> {name}" for module, names in _imports().items() if module != "miniservice.app"
             for name in names if _is_entry(name) and _package(name) != _package(module)}
    assert wrong == set()


def test_the_checks_see_a_violation() -> None:
    """The rules above would catch the imports they forbid (so that they cannot pass by reading nothing)."""
    tree = ast.parse("from miniservice.citizens.views import bp\nimport miniservice.wechat.router\n"
                     "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from miniservice.family import views\n")
    names = set(_runtime_imports(tree))
    assert "miniservice.citizens.views" in names and "miniservice.wechat.router" in names
    assert "miniservice.family.views" not in names
    assert _is_entry("miniservice.citizens.views") and _is_entry("miniservice.admin.views.rules")
    assert not _is_entry("miniservice.citizens.records") and not _is_entry("miniservice.wechat.callback")
    assert len(_imports()) > 100
