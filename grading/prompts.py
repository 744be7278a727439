"""Docstring prompts and code views of HumanEval problems, as plain functions (no Django).

The Codex-D prompt (section 5 of the Codex paper) is the function without its docstring, then
the opening of a docstring placed after the body: the model writes the docstring and closes it.
Templates are versioned: a changed template is a new name, so runs stay comparable.
"""

from __future__ import annotations

import ast
import inspect
import warnings

CODEX_D_V1 = "codex-d-v1"
DOCSTRING_STOP_SEQUENCES: tuple[str, ...] = ('"""',)


def _entry_function(tree: ast.Module, entry_point: str) -> ast.FunctionDef:
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == entry_point]
    if not functions:
        raise ValueError(f"no top-level function {entry_point!r}")
    return functions[-1]


def _docstring_node(function: ast.FunctionDef) -> ast.Expr | None:
    """The first bare string statement of the body: HumanEval/115 puts an import before it."""
    for node in function.body:
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            return node
    return None


def split_docstring(source: str, entry_point: str) -> tuple[str, str, str]:
    """(code before the docstring, the docstring, code after it) of the entry point's function."""
    lines = source.splitlines(keepends=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(source)
    function = _entry_function(tree, entry_point)
    node = _docstring_node(function)
    if node is None:
        return source, "", ""
    if node.lineno == function.lineno:
        raise ValueError(f"the docstring of {entry_point!r} shares a line with its signature")
    docstring = inspect.cleandoc(node.value.value)  # type: ignore[attr-defined]
    before = "".join(lines[: node.lineno - 1])
    after = "".join(lines[node.end_lineno :])
    return before, docstring, after


def function_code(prompt: str, canonical_solution: str, entry_point: str) -> str:
    """The reference function as annotators see it: everything except the entry point's docstring."""
    before, _, after = split_docstring(prompt + canonical_solution, entry_point)
    return (before + after).strip("\n") + "\n"


def reference_docstring(prompt: str, entry_point: str) -> str:
    """HumanEval's own docstring of the entry point: the known-correct answer."""
    return split_docstring(prompt, entry_point)[1]


def codex_d_prompt(prompt: str, canonical_solution: str, entry_point: str) -> str:
    """codex-d-v1: signature and reference body, then a docstring opened after them."""
    return function_code(prompt, canonical_solution, entry_point) + '    """'


def docstring_from_completion(completion: str) -> str:
    """The docstring a completion of the Codex-D prompt wrote: up to its closing quotes."""
    return inspect.cleandoc(completion.split('"""', 1)[0]).strip()


def back_translation_prompt(prompt: str, entry_point: str, docstring: str) -> str:
    """The problem's signature with the graded docstring in place of the original one."""
    before, _, _ = split_docstring(prompt, entry_point)
    body = docstring.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    indented = "\n".join(f"    {line}" if line.strip() else "" for line in body.splitlines())
    return f'{before}    """\n{indented}\n    """\n'
