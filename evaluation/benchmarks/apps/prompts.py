"""Prompts: the named, versioned templates a model is asked to continue, and the program a
completion stands for in each (docs/apps.md, Prompts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evaluation.benchmarks import Problem


@dataclass(frozen=True)
class Template:
    """A named, versioned prompt format; a run stores `name` to say how its prompts were made.

    `continuation`: the model continues the prompt, so the program is prompt + completion;
    otherwise the completion is the whole program."""

    name: str
    one_shot: bool
    continuation: bool


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template("apps-codex-v1", one_shot=False, continuation=True),
        Template("apps-codex-1shot-v1", one_shot=True, continuation=True),
        Template("apps-hendrycks-v1", one_shot=False, continuation=False),
    )
}
DEFAULT_TEMPLATE = "apps-codex-v1"
# Whole programs use top-level `if`, `def` and `print`, so the Codex stops would cut them: stop
# instead where the model starts a new docstring or a new question.
STOP_SEQUENCES: tuple[str, ...] = ('\n"""', "\nQUESTION:", "\n\n\n\n")


def template(name: str) -> Template:
    if name not in TEMPLATES:
        raise ValueError(f"unknown APPS prompt template {name!r}; known: {', '.join(TEMPLATES)}")
    return TEMPLATES[name]


def format_hint(problem: Problem) -> str:
    return "Use Call-Based format" if problem.metadata["fn_name"] else "Use Standard Input format"


def prompt(problem: Problem, template_name: str = "") -> str:
    """The prompt for `problem` in a named template.

    Codex templates put the question in a docstring, then the format hint, then the starter code
    (section 3.5); the 1-shot variant appends the statement's first example as a formatting hint
    (problems whose statement shows none get the zero-shot prompt). The hendrycks template is
    `eval/generate_gpt_codes.py`'s QUESTION/ANSWER prompt."""
    chosen = template(template_name or DEFAULT_TEMPLATE)
    meta = problem.metadata
    starter = meta["starter_code"]
    if not chosen.continuation:
        starter_part = "\n" + starter if starter else ""
        return f"\nQUESTION:\n{meta['question']}{starter_part}\n{format_hint(problem)}\nANSWER:\n"
    body = meta["question"].strip()
    if chosen.one_shot and meta["public_tests_source"] == "statement":
        body += "\n\n" + _example_text(
            problem, meta["public_tests"]["inputs"][0], meta["public_tests"]["outputs"][0]
        )
    body = body.replace('"""', "'''") + "\n\n" + format_hint(problem)
    opening = 'r"""' if "\\" in body else '"""'
    return f'{opening}\n{body}\n"""\n{starter.lstrip(chr(10))}'


def _example_text(problem: Problem, given: Any, expected: Any) -> str:
    fn_name = problem.metadata["fn_name"]
    if fn_name:
        call = f"{fn_name}({', '.join(repr(arg) for arg in given)})"
        return f"Example:\n>>> {call}\n{expected!r}"
    return f"Example:\nInput:\n{given.rstrip()}\nOutput:\n{expected.rstrip()}"


def program(problem: Problem, completion: str, template_name: str | None = None) -> str:
    """The program a completion stands for: the completion alone (the APPS convention, and any
    template whose completion is a whole program) or prompt + completion (Codex templates)."""
    if template_name is not None and template(template_name).continuation:
        return prompt(problem, template_name) + completion
    return completion
