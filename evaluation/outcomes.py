"""Why a sample fails: one outcome class per sample, from its verdict, status and detail.

The classes are the failure anatomy every run shows: passed, wrong answer (a failed assertion or
a different output), syntax error, each exception type by name (NameError, TypeError, ...),
timeout, out of memory, and could not be run (a sample the sandbox never judged: never counted
against the model). Verdict details come from the sandbox ("NameError: name 'x' is not defined",
"out of memory (limit ...)") and from APPS's judge ("wrong answer on hidden test 2 of 9",
"runtime error on hidden test 1 of 4: ... ZeroDivisionError ...").
"""

from __future__ import annotations

import re
from enum import StrEnum


class Outcome(StrEnum):
    PASSED = "passed"
    WRONG_ANSWER = "wrong answer"
    SYNTAX_ERROR = "syntax error"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out of memory"
    NOT_RUN = "could not be run"
    OTHER = "other failure"


# Shown in this order; exception types (any other string) come between syntax errors and timeouts.
ORDER = (Outcome.PASSED, Outcome.WRONG_ANSWER, Outcome.SYNTAX_ERROR)
LAST = (Outcome.TIMEOUT, Outcome.OUT_OF_MEMORY, Outcome.OTHER, Outcome.NOT_RUN)
_SYNTAX = ("SyntaxError", "IndentationError", "TabError")
_EXCEPTION = re.compile(r"\b([A-Z]\w*(?:Error|Exception|Exit|Interrupt|Warning))\b")


def classify(verdict: str | None, status: str, detail: str) -> str:
    """The outcome class of one judged sample."""
    if verdict is None or status == "not_run":
        return Outcome.NOT_RUN
    if verdict == "passed":
        return Outcome.PASSED
    if verdict == "timeout":
        return Outcome.TIMEOUT
    if status == "oom" or detail.startswith("out of memory"):
        return Outcome.OUT_OF_MEMORY
    if detail.startswith("AssertionError") or status == "wrong_answer" or detail.startswith("wrong answer"):
        return Outcome.WRONG_ANSWER
    found = _EXCEPTION.search(detail)
    if found is None:
        return Outcome.OTHER
    return Outcome.SYNTAX_ERROR if found[1] in _SYNTAX else found[1]


def ordered(outcomes: set[str]) -> list[str]:
    """Outcome classes in the order charts and exports show them."""
    middle = sorted(o for o in outcomes if o not in ORDER and o not in LAST)
    return [o for o in ORDER if o in outcomes] + middle + [o for o in LAST if o in outcomes]
