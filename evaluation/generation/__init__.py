"""Sampling completions from code models: one backend interface, two backends.

A backend takes a prompt, sampling settings and one seed per wanted sample, and returns one
`Completion` per seed. Seeds come from `sample_seed(run, task, index)`, so a retried chunk of
work asks for exactly the samples it asked for the first time.

Backends live in their own modules so that importing this package does not import torch:
- `evaluation.generation.transformers_backend.TransformersBackend` (torch + transformers),
- `evaluation.generation.openai_backend.OpenAICompatibleBackend` (an OpenAI-compatible
  `/v1/completions` server such as vLLM or TGI; standard library only).
`evaluation.generation.backends.load_backend(spec)` picks one from a string.

Log-probabilities are always those of the model itself: `log_softmax` of the logits at
temperature 1, before nucleus filtering, so that samples drawn at different temperatures rank
on the same scale (the Codex paper's "mean log p").
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from evaluation.benchmarks import CODEX_STOP_SEQUENCES


class GenerationError(RuntimeError):
    """A failure to generate that a user can act on (bad model, unreachable server, bad reply)."""


@dataclass(frozen=True)
class SamplingSettings:
    """How to sample. Temperature 0 means greedy decoding (top_p is then ignored)."""

    temperature: float = 0.8
    top_p: float = 0.95
    max_new_tokens: int = 300
    stop: tuple[str, ...] = CODEX_STOP_SEQUENCES

    def __post_init__(self) -> None:
        if isinstance(self.stop, str):
            raise ValueError("stop must be a sequence of strings, not one string")
        object.__setattr__(self, "stop", tuple(self.stop))
        if not all(isinstance(s, str) and s for s in self.stop):
            raise ValueError("stop sequences must be non-empty strings")
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")


@dataclass(frozen=True)
class Completion:
    """One sample, cut at the first stop sequence.

    `token_logprobs` covers the kept tokens: the shortest prefix of the generated tokens whose
    text covers `text` (a token that straddles the cut counts, the stop sequence's own tokens and
    an end-of-text token do not). `token_ids` are those tokens when the backend knows them.
    """

    text: str
    token_logprobs: tuple[float, ...]
    finish_reason: str
    token_ids: tuple[int, ...] = ()

    @property
    def sum_logprob(self) -> float:
        """Log-probability of the kept tokens; 0.0 for an empty completion (an empty product)."""
        return math.fsum(self.token_logprobs)

    @property
    def mean_logprob(self) -> float:
        """Mean log-probability per kept token; 0.0 for an empty completion."""
        if not self.token_logprobs:
            return 0.0
        return self.sum_logprob / len(self.token_logprobs)


class Backend(Protocol):
    def sample(self, prompt: str, settings: SamplingSettings, seeds: Sequence[int]) -> list[Completion]:
        """One completion per seed; the same (prompt, settings, seed) always gives the same completion."""
        ...

    def sample_many(
        self, prompts: Sequence[str], settings: SamplingSettings, seeds: Sequence[int]
    ) -> list[Completion]:
        """One completion per (prompt, seed) pair, in order: lets a backend batch across problems."""
        ...

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """log P(continuation | prompt) for each (prompt, continuation): ranking by back-translation."""
        ...

    def describe(self) -> dict[str, object]:
        """What a run's receipt records of the model and how it ran (commit, precision, device)."""
        ...


def sample_seed(run_key: str, task_id: str, index: int) -> int:
    """A stable 63-bit seed for sample `index` of `task_id` in a run: the same on every machine."""
    digest = hashlib.sha256(json.dumps([run_key, task_id, index]).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def kept_token_count(offsets: Sequence[int], text_length: int) -> int:
    """How many tokens cover the first `text_length` characters, given each token's start offset."""
    return sum(1 for offset in offsets if offset < text_length)
