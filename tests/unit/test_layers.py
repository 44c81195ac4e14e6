"""The dependency contract: featureplat's modules import one way, layer by layer, with no
cycle, counting every import (module level and inside functions).

Layers, lowest first (a module may import its own layer and those below):

0. ``_core``, ``errors``, ``version``
1. ``plan``            plan documents and files, the fit driver, the tables every layer reads
2. ``dsl``             expression nodes and feature sets
3. ``compile``         feature sets -> plans
4. ``featureplat``     the package's public names; ``testing``, ``examples``
5. ``feast``           the Feast layer (never imports the MLflow layer)
6. ``mlflow``          the MLflow layer
7. ``cli``             the ``featureplat`` command, on top of everything

Compatibility modules (paths that stored artifacts import) are leaves: nothing in the
package imports them. An import of a featureplat module inside a function is refused
outright: imports sit at the top of the module (third-party optional dependencies such as
Feast or MLflow may be imported where they are used).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "featureplat"
ROOT = "featureplat"

LAYERS: list[tuple[int, tuple[str, ...]]] = [
    (0, ("featureplat._core", "featureplat.errors", "featureplat.version")),
    (1, ("featureplat.plan",)),
    (2, ("featureplat.dsl",)),
    (3, ("featureplat.compile", "featureplat.validation")),
    (4, ("featureplat.testing", "featureplat.examples")),
    (5, ("featureplat.feast",)),
    (6, ("featureplat.mlflow",)),
    (7, ("featureplat.cli",)),
]
PACKAGE_RANK = 4  # featureplat/__init__.py: the core's public names
COMPAT = ("featureplat.training", "featureplat.feast_adapter")
LAYER_NAMES = {0: "core runtime", 1: "plan", 2: "dsl", 3: "compile", 4: "package/testing", 5: "feast",
               6: "mlflow", 7: "cli"}


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every Python file of the package."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(name: str, known: set[str]) -> str:
    """The featureplat module an import of ``name`` loads (the longest known prefix)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known or candidate == "featureplat._core":
            return candidate
        parts.pop()
    return ROOT


def imports_of(module: str, path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported featureplat module, line, inside a function) for every import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name == ROOT or alias.name.startswith(ROOT + "."):
                        found.append((_resolve(alias.name, known), child.lineno, in_function))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = module.split(".") if is_package else module.split(".")[:-1]
                    anchor = anchor[:len(anchor) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                if base != ROOT and not base.startswith(ROOT + "."):
                    continue
                for alias in child.names:
                    sub = f"{base}.{alias.name}"
                    target = sub if sub in known or sub == "featureplat._core" else _resolve(base, known)
                    found.append((target, child.lineno, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def rank(module: str) -> int | None:
    if module == ROOT:
        return PACKAGE_RANK
    for r, prefixes in LAYERS:
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return r
    return None


def violations(graph: dict[str, list[tuple[str, int, bool]]]) -> list[str]:
    """Every breach of the contract in an import graph (module -> its imports)."""
    problems = []
    for mod, deps in sorted(graph.items()):
        mine = rank(mod)
        if mine is None and mod not in COMPAT:
            problems.append(f"{mod}: belongs to no layer (add it to the contract in tests/unit/test_layers.py)")
            continue
        for dep, line, in_function in deps:
            if dep == mod:
                continue
            if in_function:
                problems.append(f"{mod}:{line}: imports {dep} inside a function (imports sit at the module top)")
            if dep in COMPAT or any(dep.startswith(c + ".") for c in COMPAT):
                problems.append(f"{mod}:{line}: imports the compatibility module {dep}")
                continue
            theirs = rank(dep)
            if mine is not None and theirs is not None and theirs > mine:
                problems.append(f"{mod}:{line}: the {LAYER_NAMES[mine]} layer imports {dep} from the "
                                f"{LAYER_NAMES[theirs]} layer above it")
    problems += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return list(dict.fromkeys(problems))


def cycles(graph: dict[str, list[tuple[str, int, bool]]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (or a
    self-import), as a closed path."""
    edges = {m: sorted({d for d, _, _ in deps if d in graph}) for m, deps in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(_path(sorted(comp), edges))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return out


def _path(comp: list[str], edges: dict[str, list[str]]) -> list[str]:
    members = set(comp)
    start = comp[0]
    prev = {start: None}
    queue = [start]
    while queue:
        v = queue.pop(0)
        for w in edges[v]:
            if w == start:
                path = [v]
                while prev[path[-1]] is not None:
                    path.append(prev[path[-1]])
                return [start] + list(reversed(path))[1:] + [start] if len(path) > 1 else [start, v, start]
            if w in members and w not in prev:
                prev[w] = v
                queue.append(w)
    return comp


def package_graph() -> dict[str, list[tuple[str, int, bool]]]:
    files = module_files()
    known = set(files)
    return {m: imports_of(m, p, known) for m, p in files.items()}


def test_the_package_keeps_the_contract():
    graph = package_graph()
    assert len(graph) > 30, sorted(graph)  # the whole package was read
    assert {"featureplat.plan.fit", "featureplat.feast.serving", "featureplat.mlflow.model"} <= set(graph)
    problems = violations(graph)
    assert not problems, "the dependency contract is broken:\n  " + "\n  ".join(problems)


def test_the_feast_layer_never_reaches_mlflow():
    graph = package_graph()
    bad = [(m, d) for m, deps in graph.items() if m.startswith("featureplat.feast")
           for d, _, _ in deps if d.startswith("featureplat.mlflow")]
    assert bad == []


# ---- the checker itself catches what it must ------------------------------------------------

def _graph(edges: dict[str, list[str]], in_function: set[tuple[str, str]] = frozenset()):
    return {m: [(d, 1, (m, d) in in_function) for d in ds] for m, ds in edges.items()}


def test_checker_reports_a_cycle_through_a_function_level_import():
    g = _graph({"featureplat.plan.plan": ["featureplat.plan.fit"],
                "featureplat.plan.fit": ["featureplat.compile.lower"],
                "featureplat.compile.lower": ["featureplat.plan.plan"]},
               in_function={("featureplat.plan.fit", "featureplat.compile.lower")})
    problems = violations(g)
    assert any(p.startswith("import cycle: featureplat.compile.lower -> featureplat.plan.plan -> "
                            "featureplat.plan.fit -> featureplat.compile.lower") for p in problems), problems
    assert any("inside a function" in p for p in problems)
    assert any("the plan layer imports featureplat.compile.lower from the compile layer" in p for p in problems)


def test_checker_reports_an_upward_import_and_compat_use():
    g = _graph({"featureplat.feast.repo": ["featureplat.mlflow.retrain"], "featureplat.mlflow.retrain": [],
                "featureplat.mlflow.model": ["featureplat.training"], "featureplat.training": []})
    problems = violations(g)
    assert any("the feast layer imports featureplat.mlflow.retrain from the mlflow layer" in p for p in problems)
    assert any("compatibility module featureplat.training" in p for p in problems)
    assert cycles(g) == []


def test_checker_reads_relative_and_submodule_imports(tmp_path):
    pkg = tmp_path / "featureplat"
    (pkg / "plan").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "plan" / "__init__.py").write_text("from .plan import Plan\n")
    (pkg / "plan" / "plan.py").write_text("def f():\n    from featureplat import cli\n")
    (pkg / "cli.py").write_text("")
    files = module_files(pkg)
    known = set(files)
    assert imports_of("featureplat.plan", files["featureplat.plan"], known) == [("featureplat.plan.plan", 1, False)]
    assert imports_of("featureplat.plan.plan", files["featureplat.plan.plan"], known) == [("featureplat.cli", 2, True)]


@pytest.mark.parametrize("module", COMPAT)
def test_compatibility_modules_only_re_export(module):
    path = module_files()[module]
    tree = ast.parse(path.read_text())
    kinds = {type(n).__name__ for n in tree.body}
    assert kinds <= {"Expr", "ImportFrom", "Assign"}, f"{module} must only re-export, it holds {kinds}"
