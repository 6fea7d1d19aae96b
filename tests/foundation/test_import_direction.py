"""The house's import rules, read from the source (AST), so a wrong import fails here
before it tangles the apps:

    botapp -> downloads, ads -> referrals -> abtests -> users -> analytics

An app imports only apps to its right (and ``config``); ``downloads`` and ``ads`` never
import each other. ``downloads.policy`` is the seam's contract: dependency-free, any app
may import it to register a policy. ``analytics`` (the event contract and vocabulary)
imports no other app. No product module imports ``sandbox`` (development only), and no
first-party import hides inside a function (the way a cycle gets dodged), except in
``AppConfig.ready`` where Django requires it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
# Higher imports lower; equal ranks are siblings that never import each other.
RANKS = {
    "config": 0,
    "analytics": 1,
    "users": 2,
    "abtests": 3,
    "referrals": 4,
    "ads": 5,
    "downloads": 5,
    "botapp": 6,
}
PRODUCT = set(RANKS)
FIRST_PARTY = PRODUCT | {"sandbox", "tests"}
# Modules any app may import whatever its rank: pure contracts without dependencies.
CONTRACTS = {"downloads.policy"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    target: str  # the imported module, dotted
    line: int
    in_function: str | None  # the enclosing function's name, if any


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> list[Path]:
    files = []
    for package in sorted(PRODUCT | {"sandbox"}):
        base = ROOT / package
        if base.is_dir():
            files += [p for p in base.rglob("*.py") if "migrations" not in p.parts]
    return sorted(files)


def imports_of(path: Path) -> list[Import]:
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    found.append(Import(module, alias.name, child.lineno, function))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in child.names:
                    # "from pkg import module" imports pkg.module; else pkg itself.
                    found.append(Import(module, f"{base}.{alias.name}", child.lineno, function))
            visit(child, function)

    visit(ast.parse(path.read_text(encoding="utf-8")), None)
    return found


def top(name: str) -> str:
    return name.split(".", 1)[0]


def is_contract(target: str) -> bool:
    return any(target == c or target.startswith(c + ".") for c in CONTRACTS)


def violation(found: Import) -> str | None:
    source, target = top(found.module), top(found.target)
    if target not in FIRST_PARTY:
        return None
    where = f"{found.module}:{found.line} imports {found.target}"
    if found.in_function and found.in_function != "ready":
        return f"{where} inside {found.in_function}() (import at the top)"
    if source in PRODUCT and target in ("sandbox", "tests"):
        return f"{where}: the product never imports {target}"
    if source not in PRODUCT or target not in PRODUCT or source == target:
        return None
    if is_contract(found.target.rsplit(".", 1)[0]) or is_contract(found.target):
        return None
    if RANKS[target] >= RANKS[source]:
        return f"{where}: {source} may import only apps below it"
    return None


def violations() -> list[str]:
    return [v for path in source_files() for i in imports_of(path) if (v := violation(i))]


def test_it_finds_no_import_against_the_direction():
    assert violations() == []


def test_it_reads_a_real_tree():
    modules = {module_name(p) for p in source_files()}
    assert {"botapp.application", "downloads.delivery", "users.models", "sandbox"} <= modules


@pytest.mark.parametrize(
    ("module", "target", "in_function", "bad"),
    [
        ("downloads.flow", "botapp.texts", None, True),
        ("analytics.events", "users.models", None, True),
        ("analytics.models", "downloads.models", None, True),
        ("users.models", "referrals.models", None, True),
        ("downloads.jobs", "ads.policies", None, True),
        ("ads.policies", "downloads.models", None, True),
        ("botapp.handlers.links", "sandbox.videosite", None, True),
        ("downloads.flow", "users.services", "quality_chosen", True),
        ("botapp.apps", "botapp.application", "ready", False),
        ("botapp.handlers.links", "downloads.flow", None, False),
        ("referrals.models", "users.models", None, False),
        ("ads.policies", "downloads.policy.DeliveryPlan", None, False),
        ("users.writers", "analytics.writers", None, False),
        ("sandbox.videosite", "botapp.runner", None, False),
        ("downloads.flow", "telegram.error", "f", False),
    ],
)
def test_it_judges_imports_by_the_rules(module, target, in_function, bad):
    assert bool(violation(Import(module, target, 1, in_function))) is bad
