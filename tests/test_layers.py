"""The tree's rules (ARCHITECTURE.md): imports point down the layers, and only at the top."""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "mailproc"
FOUNDATION = {"errors", "clock", "config", "config_schema", "credentials", "tls", "db", "models",
              "signing"}
# Lowest first. A module may import its own layer and the ones before it; the most specific
# prefix decides. `mailproc.jobs` is the one-release shim at the old RQ job path.
LAYERS = [
    ("foundation", ["mailproc", *(f"mailproc.{m}" for m in FOUNDATION)]),
    ("pure", ["mailproc.parse", "mailproc.classify", "mailproc.thread.rules",
              "mailproc.thread.nearby", "mailproc.thread.prints", "mailproc.thread.subjects",
              "mailproc.policy", "mailproc.sla", "mailproc.people",
              "mailproc.kb", "mailproc.templating.render", "mailproc.escalation.plan",
              "mailproc.escalation.ladder", "mailproc.outbox.mime", "mailproc.outbox.direct",
              "mailproc.outbox.wire",
              "mailproc.delivery.retry", "mailproc.source.backoff", "mailproc.oauth.sasl",
              "mailproc.oauth.providers"]),
    ("adapters", ["mailproc.source", "mailproc.store", "mailproc.thread", "mailproc.cases",
                  "mailproc.outbox.table", "mailproc.delivery", "mailproc.fallback.health",
                  "mailproc.fallback.breaker", "mailproc.escalation.steps", "mailproc.oauth"]),
    ("acting", ["mailproc.outbox", "mailproc.templating", "mailproc.actions",
                "mailproc.escalation", "mailproc.fallback"]),
    ("composition", ["mailproc.app"]),
    ("runners", ["mailproc.runners", "mailproc.jobs"]),
    ("tools", ["mailproc.ops", "mailproc.reports", "mailproc.web", "mailproc.cli",
               "mailproc.migrations"]),
]


def layer(module: str) -> int:
    best = max(((len(p), rank) for rank, (_, prefixes) in enumerate(LAYERS) for p in prefixes
                if module == p or module.startswith(p + ".")), default=None)
    assert best is not None, f"{module} is in no layer: add it to LAYERS"
    return best[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(tree: ast.Module):
    """(node, module, at top) for every import; TYPE_CHECKING blocks do not run, so they do
    not count (they hold `App` for annotations)."""
    skip = {id(n) for top in tree.body if isinstance(top, ast.If)
            and "TYPE_CHECKING" in ast.unparse(top.test) for n in ast.walk(top)}
    top_level = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and not node.level:
            # `from package import module` imports the module (our __init__s are docstrings)
            names = [f"{node.module}.{a.name}" for a in node.names]
            names = [n for n in names if n in MODULES] or [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            yield node, name, id(node) in top_level


MODULES = {module_name(p): ast.parse(p.read_text()) for p in sorted(PKG.rglob("*.py"))
           if "versions" not in p.parts}


def ours(name: str, importer: str) -> str | None:
    """The mailproc module an imported name refers to (a package's submodule when it is one)."""
    if name in MODULES:
        return name
    parent = name.rpartition(".")[0]
    return parent if parent in MODULES and parent != importer else None


def test_the_root_holds_only_the_foundation_and_the_composition_root():
    root = {p.stem for p in PKG.glob("*.py")}
    assert root == FOUNDATION | {"__init__", "app", "jobs"}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_and_stay_at_the_top(module):
    problems = []
    for node, name, at_top in imports(MODULES[module]):
        if name.startswith("workers"):
            problems.append(f"line {node.lineno}: mailproc never imports {name}")
        target = ours(name, module) if name.startswith("mailproc") else None
        if target is None:
            continue
        if not at_top:
            problems.append(f"line {node.lineno}: function-local import of {target}")
        if layer(target) > layer(module):
            problems.append(f"line {node.lineno}: {LAYERS[layer(module)][0]} module imports "
                            f"{target} ({LAYERS[layer(target)][0]})")
    assert problems == []


@pytest.mark.parametrize("module", [m for m in sorted(MODULES) if layer(m) == 1])
def test_the_pure_layer_reaches_no_database(module):
    """Pure code takes values and `now`: no SQLAlchemy, and no models or db that bring it."""
    used = [name for _, name, _ in imports(MODULES[module])
            if name.split(".")[0] == "sqlalchemy" or name in ("mailproc.db", "mailproc.models")]
    assert used == []


def test_every_package_says_what_it_is_for():
    for init in PKG.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert doc and not doc.endswith(" package."), f"{init}: give it a one-line docstring"
