"""The shape of the code: a core without Django, dependencies pointing one way, no import circles.

Read from the import statements (function-level and TYPE_CHECKING imports included) and checked
by importing the core in a fresh interpreter.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import ROOT

PACKAGES = ("evaluation", "leaderboard", "grading")
FRAMEWORKS = ("django", "celery", "kombu")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }


def imported_names(path: Path, modules: dict[str, Path] | None = None) -> list[str]:
    """Every module an import statement in the file names, wherever the statement stands.

    `from a import b` names the module a.b where there is one, else a."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.append(submodule if modules and submodule in modules else node.module)
    return names


def import_graph() -> dict[str, set[str]]:
    """module -> project modules it imports (`from a import b` names a.b when that is a module)."""
    modules = project_modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for target in imported_names(path, modules):
            if target in modules and target != name:
                graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_project_modules_import_each_other_in_no_circle():
    assert cycles(import_graph()) == []


def test_no_file_of_the_core_imports_a_framework():
    offending = [
        f"{name}: {target}"
        for name, path in project_modules().items()
        if name.split(".")[0] == "evaluation"
        for target in imported_names(path)
        if target.split(".")[0] in FRAMEWORKS + ("leaderboard", "grading")
    ]
    assert offending == []


def test_dependencies_point_one_way():
    """core <- the app that stores runs <- the public pages and grading (which ignore each other)."""
    layer_of = {
        "evaluation": "core",
        "leaderboard.runs": "runs",
        "grading": "grading",
    }

    def layer(module: str) -> str:
        for prefix, name in layer_of.items():
            if module == prefix or module.startswith(prefix + "."):
                return name
        top = {
            "leaderboard.settings",
            "leaderboard.urls",
            "leaderboard.celery",
            "leaderboard.wsgi",
            "leaderboard",
        }
        return "site" if module in top else "pages"

    allowed = {
        "core": {"core"},
        "runs": {"core", "runs"},
        "pages": {"core", "runs", "pages"},
        "grading": {"core", "runs", "grading"},
        "site": {"core", "runs", "pages", "grading", "site"},
    }
    wrong = [
        f"{source} ({layer(source)}) imports {target} ({layer(target)})"
        for source, targets in import_graph().items()
        for target in targets
        if layer(target) not in allowed[layer(source)]
    ]
    assert wrong == []


def test_the_whole_core_imports_without_django_celery_or_kombu():
    """Every core module imported in a fresh interpreter with no Django settings loads no framework."""
    core = sorted(name for name in project_modules() if name.split(".")[0] == "evaluation")
    core.remove("evaluation.__main__")  # runs the command line when imported
    script = (
        "import importlib, sys\n"
        f"for name in {core!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FRAMEWORKS!r}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["evaluation.benchmarks.registry", "evaluation.cli", "evaluation.sandbox"])
def test_a_core_module_imports_on_its_own_without_settings(name):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", f"import {name}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
