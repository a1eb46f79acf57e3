"""The house rule (CONTRIBUTING.md): audit <- tracking <- dashboards <- exceptions, and no circle of
imports inside an app. Read from the source, imports inside functions included: a lazy
import is still a dependency."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("audit", "tracking", "dashboards", "exceptions")
# What each app may import of the others.
ALLOWED = {
    "audit": set(),
    "tracking": {"audit"},
    "dashboards": {"audit", "tracking"},
    "exceptions": {"audit", "tracking", "dashboards"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def sources() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


MODULES = sources()


def _resolve(name: str) -> str:
    """The most specific module of the project that ``name`` names (a.b.Class -> a.b)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # ``from pkg import mod`` depends on mod; ``from mod import name``, on mod.
                submodule = f"{base}.{alias.name}"
                named.add(submodule if submodule in MODULES else base)
    return {found for n in named if (found := _resolve(n)) and found != module}


GRAPH = {module: imports(module) for module in MODULES}


@pytest.mark.parametrize("app", APPS)
def test_an_app_imports_only_the_apps_below_it(app):
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if module.split(".")[0] == app
        for target in targets
        if target.split(".")[0] != app and target.split(".")[0] not in ALLOWED[app]
    )
    assert wrong == []


def test_no_circle_of_imports():
    """Tarjan's strongly connected components: every one must be a single module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert circles == []


def test_the_rule_is_read_from_real_imports():
    # The checks above would pass on an empty graph: make sure it is the real one.
    assert "tracking.ledger" in GRAPH["tracking.ingest.spans"]
    assert "dashboards.extensions" in GRAPH["exceptions.panels"]
    assert "exceptions.replay.queue" in GRAPH["exceptions.replay.asking"]
