"""Every benchmark the project knows, by the name its module gives itself.

Adding a benchmark is adding its module here; nothing else lists benchmarks.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import cast

from evaluation.benchmarks.contract import Contract, Judging

MODULES: tuple[str, ...] = (
    "evaluation.benchmarks.humaneval",
    "evaluation.benchmarks.humaneval_plus",
    "evaluation.benchmarks.apps",
    "evaluation.benchmarks.humaneval_docstrings",
)


class UnknownBenchmark(ValueError):
    """A name no registered benchmark has."""


@cache
def _by_name() -> dict[str, Contract]:
    modules = [cast(Contract, importlib.import_module(path)) for path in MODULES]
    return {module.NAME: module for module in modules}


def names() -> tuple[str, ...]:
    """Registered names, in the registry's order (the board's column order)."""
    return tuple(_by_name())


def get(name: str) -> Contract:
    try:
        return _by_name()[name]
    except KeyError:
        raise UnknownBenchmark(f"unknown benchmark {name!r}; known: {', '.join(names())}") from None


def benchmarks(judging: Judging | None = None) -> list[Contract]:
    """Every registered benchmark, or those judged one way."""
    return [m for m in _by_name().values() if judging is None or judging == m.JUDGING]
