"""Codex-D (section 5 of the paper): docstrings written from a function's code.

There are no unit tests for a docstring: people grade them (the grading app builds the problems
and reads the grades). Here is only what the generation workers need.
"""

from __future__ import annotations

from evaluation.benchmarks import Problem

NAME = "humaneval-docstrings"
EXECUTED = False


def prompt(problem: Problem, template: str = "") -> str:
    """The problem's prompt already holds the function and the docstring's opening quotes."""
    return problem.prompt
