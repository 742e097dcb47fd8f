"""The shape the code keeps, read from its syntax trees (no import, nothing run):

- no import cycle among desk's modules, counting imports inside functions, which are the ones
  that hide a dependency running the wrong way;
- no private name (``_name``) imported from another module: what others need is public;
- one owner of a ticket's status: only desk.tickets.workflow assigns ``.status``;
- one transaction helper: only desk.transaction commits or rolls back a session.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "desk"


def _modules() -> dict[str, ast.Module]:
    trees = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        trees[".".join(parts)] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return trees


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The desk module an import names: the module itself, or the package holding the name."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")
    is_package = (PACKAGE / Path(*package[1:]) / "__init__.py").exists() if len(package) > 1 else True
    base = package if is_package else package[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Every desk module → the desk modules it imports, wherever the import stands."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for module, tree in MODULES.items():
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(module, node)
                # ``from desk.tickets import service`` imports the module desk.tickets.service
                targets = [f"{source}.{alias.name}" for alias in node.names] + [source]
                targets = [t for t in targets if t in MODULES] or [source]
            for target in targets:
                resolved = _resolve(target)
                if resolved and resolved != module and resolved.startswith("desk"):
                    graph[module].add(resolved)
    # A package's __init__ is imported on the way to any of its modules; that is not a use of it.
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_desk():
    graph = import_graph()
    # A package __init__ that only re-exports its modules is not a dependency of theirs.
    for name in MODULES:
        if (PACKAGE / Path(*name.split(".")[1:]) / "__init__.py").exists():
            for module in list(graph):
                if module.startswith(name + "."):
                    graph[module].discard(name)
    assert cycles(graph) == []


def test_no_private_name_is_imported_from_another_module():
    found = []
    for module, tree in MODULES.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and _absolute(module, node).startswith("desk"):
                found += [f"{module}: {alias.name}" for alias in node.names
                          if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert found == []


def _assignments_to(attribute: str):
    for module, tree in MODULES.items():
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            for target in targets:
                for part in ast.walk(target):
                    if isinstance(part, ast.Attribute) and part.attr == attribute and isinstance(part.ctx, ast.Store):
                        yield module, part.lineno


def test_only_the_workflow_assigns_a_status():
    outside = [f"{m}:{line}" for m, line in _assignments_to("status") if m != "desk.tickets.workflow"]
    assert outside == []


def test_the_status_finder_sees_an_assignment():
    tree = ast.parse("ticket.status = 'open'\nold, ticket.status = ticket.status, 'x'\n")
    assert sum(isinstance(n, ast.Attribute) and n.attr == "status" and isinstance(n.ctx, ast.Store)
               for n in ast.walk(tree)) == 2


@pytest.mark.parametrize("call", ["commit", "rollback"])
def test_only_the_transaction_helper_ends_a_transaction(call):
    allowed = {"desk.transaction"}
    found = []
    for module, tree in MODULES.items():
        if module in allowed:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == call
                    and isinstance(node.func.value, (ast.Name, ast.Attribute))
                    and getattr(node.func.value, "attr", getattr(node.func.value, "id", "")) == "session"):
                found.append(f"{module}:{node.lineno}")
    assert found == []
