"""Benchmarks as plain data: problems, versions keyed by content hash, and stop-sequence truncation."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

# The Codex paper's stop sequences for HumanEval (section 3.3).
CODEX_STOP_SEQUENCES: tuple[str, ...] = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
# The Codex paper's limit on one run of a program, in seconds: every benchmark's default.
TIME_LIMIT = 3.0


@dataclass(frozen=True)
class Problem:
    """One task. `test` is trusted code; for HumanEval it defines `check(candidate)`."""

    task_id: str
    prompt: str
    test: str
    entry_point: str = ""
    canonical_solution: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


# A version's name: the first digits of its content hash, as git names a commit.
VERSION_DIGITS = 12


@dataclass(frozen=True)
class Benchmark:
    """A named, versioned list of problems; `version` is a prefix of the content hash."""

    name: str
    content_hash: str
    problems: tuple[Problem, ...]

    @property
    def version(self) -> str:
        return self.content_hash[:VERSION_DIGITS]

    def by_task_id(self) -> dict[str, Problem]:
        return {p.task_id: p for p in self.problems}


def content_hash(problems: list[Problem] | tuple[Problem, ...]) -> str:
    """A hash of every field of every problem, so any change to the data gives a new version."""
    digest = hashlib.sha256()
    for problem in problems:
        digest.update(json.dumps(asdict(problem), sort_keys=True).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def truncate(completion: str, stop_sequences: tuple[str, ...] | list[str]) -> str:
    """Cut a completion at the earliest occurrence of any stop sequence."""
    cut = len(completion)
    for stop in stop_sequences:
        index = completion.find(stop)
        if index != -1:
            cut = min(cut, index)
    return completion[:cut]
