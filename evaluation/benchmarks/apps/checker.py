"""Deciding whether an APPS program's output is right: the reference checker's rules and ours.

Two comparisons, chosen by name (see docs/apps.md for the full list of equivalences):

- "reference" (the default) reproduces the decisions of hendrycks/apps `eval/testing_util.py`,
  false passes included: the semantics of every published APPS number, so the figures a run
  publishes can be compared with the field's.
- "strict" keeps every equivalence of the reference that cannot turn a wrong answer into a pass:
  surrounding whitespace, blank lines, runs of spaces, numbers written differently (3 = 3.0) or
  within numpy's `allclose` tolerance, tuples for lists. It drops the ones that can: tokens
  compared as unordered sets, floats rounded to 3 decimals, large integers within a relative
  tolerance, the first element of a longer expected list. It also rejects a correct program that
  prints another valid answer of a problem whose answer is not unique, so it is judged beside
  the reference as a diagnostic, never instead of it.

Expected outputs stay in this (trusted) process: nothing here runs the sample's code.
"""

from __future__ import annotations

import math
import re
from typing import Any

REFERENCE = "reference"
STRICT = "strict"
COMPARISONS: tuple[str, ...] = (REFERENCE, STRICT)
DEFAULT_COMPARISON = REFERENCE

# numpy.allclose's defaults, which the reference checker applies to one-number lines.
RELATIVE_TOLERANCE = 1e-5
ABSOLUTE_TOLERANCE = 1e-8

_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def stdout_matches(got: str, expected: str | list[str], comparison: str = DEFAULT_COMPARISON) -> bool:
    """Whether a standard-input program's printed output answers the test."""
    if isinstance(expected, list):
        expected = "\n".join(expected)
    if comparison == STRICT:
        return _strict_stdout(got, expected)
    if comparison == REFERENCE:
        return reference_stdout_matches(got, expected)
    raise ValueError(f"unknown comparison {comparison!r}; known: {', '.join(COMPARISONS)}")


def returned_matches(got: Any, expected: Any, comparison: str = DEFAULT_COMPARISON) -> bool:
    """Whether a call-based function's return value answers the test (`expected` as in the data)."""
    if comparison == STRICT:
        return _strict_returned(got, expected)
    if comparison == REFERENCE:
        return reference_returned_matches(got, expected)
    raise ValueError(f"unknown comparison {comparison!r}; known: {', '.join(COMPARISONS)}")


# --- strict ------------------------------------------------------------------------------------


def _content_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _strict_stdout(got: str, expected: str) -> bool:
    got_lines, expected_lines = _content_lines(got), _content_lines(expected)
    if got_lines == expected_lines:
        return True
    if len(got_lines) != len(expected_lines):
        return False
    for got_line, expected_line in zip(got_lines, expected_lines, strict=True):
        got_tokens, expected_tokens = got_line.split(), expected_line.split()
        if len(got_tokens) != len(expected_tokens):
            return False
        if not all(map(_tokens_match, got_tokens, expected_tokens)):
            return False
    return True


def _tokens_match(got: str, expected: str) -> bool:
    """Equal text, equal integers, or close decimals; two integers are never 'close'."""
    if got == expected:
        return True
    if _INTEGER.fullmatch(got) and _INTEGER.fullmatch(expected):
        return int(got) == int(expected)
    if _DECIMAL.fullmatch(got) and _DECIMAL.fullmatch(expected):
        return _close(float(got), float(expected))
    return False


def _close(got: float, expected: float) -> bool:
    """numpy.isclose with its default tolerances (infinities equal only themselves)."""
    if math.isinf(got) or math.isinf(expected):
        return got == expected
    return abs(got - expected) <= ABSOLUTE_TOLERANCE + RELATIVE_TOLERANCE * abs(expected)


def _strict_returned(got: Any, expected: Any) -> bool:
    got = _lists_for_tuples(got)
    return any(got == candidate for candidate in _expected_values(expected, wrapped_only=True))


def _lists_for_tuples(value: Any) -> Any:
    """JSON, where the expected values come from, has no tuples: compare tuples as lists."""
    if isinstance(value, (list, tuple)):
        return [_lists_for_tuples(item) for item in value]
    if isinstance(value, dict):
        return {key: _lists_for_tuples(item) for key, item in value.items()}
    return value


def _expected_values(expected: Any, wrapped_only: bool) -> list[Any]:
    """The values a test accepts: APPS stores most answers wrapped in a one-element list.

    JSON turns integer dict keys into strings; like the reference, convert them back."""
    candidates = [expected]
    if isinstance(expected, list) and expected and (len(expected) == 1 or not wrapped_only):
        candidates.append(expected[0])
    return [_int_keys(candidate) for candidate in candidates]


def _int_keys(value: Any) -> Any:
    if isinstance(value, dict) and value and all(isinstance(k, str) and _INTEGER.fullmatch(k) for k in value):
        return {int(key): item for key, item in value.items()}
    return value


# --- the reference checker's semantics ---------------------------------------------------------


def reference_stdout_matches(got: str, expected: str | list[str]) -> bool:
    """hendrycks/apps testing_util's standard-input comparison, step by step, false passes included.

    `got` is what the program printed; the reference sees it as `splitlines()` of the captured
    output and the expected output as a string (lists joined with newlines)."""
    if isinstance(expected, list):
        expected = "\n".join(expected)
    output = got.splitlines()
    if "\n".join(output).strip() == expected.strip():
        return True
    if "\n".join(line.strip() for line in output).strip() == expected.strip():
        return True
    if output == [expected]:
        return True
    expected_lines = [line.strip() for line in expected.split("\n") if line]
    if output == expected_lines:
        return True
    output = [line for line in output if line]
    if output == expected_lines:
        return True
    try:
        got_floats = [float(line) for line in output]
        expected_floats = [float(line) for line in expected_lines]
        if len(got_floats) == len(expected_floats) and all(map(_close, got_floats, expected_floats)):
            return True
    except ValueError:
        pass
    expected_sets = {frozenset(line.split()) for line in expected_lines}
    got_sets = {frozenset(tokens) for tokens in (line.split() for line in output) if tokens}
    if got_sets == expected_sets:
        return True
    try:
        return {frozenset(round(float(t), 3) for t in s) for s in got_sets} == {
            frozenset(round(float(t), 3) for t in s) for s in expected_sets
        }
    except ValueError:
        return False


def reference_returned_matches(got: Any, expected: Any) -> bool:
    """hendrycks/apps testing_util's call-based comparison: tuples become lists at the top level
    only, and any non-empty expected list also accepts its first element."""
    if isinstance(expected, dict) and _int_keys(expected) is not expected:
        expected = [_int_keys(expected)]
    elif isinstance(expected, list) and expected and isinstance(expected[0], dict):
        expected = [_int_keys(expected[0])] if _int_keys(expected[0]) is not expected[0] else expected
    if isinstance(got, tuple):
        got = list(got)
    if got == expected:
        return True
    if isinstance(expected, list) and expected and got == expected[0]:
        return True
    try:
        if isinstance(got[0], tuple) and [list(item) for item in got] == expected[0]:
            return True
    except (TypeError, IndexError, KeyError):
        pass
    return False
