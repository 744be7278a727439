"""Choosing a backend from a string: a hub id, a local folder, or an OpenAI-compatible server."""

from __future__ import annotations

from typing import Any

from evaluation.generation import Backend

OPENAI_PREFIX = "openai:"


def load_backend(spec: str, **options: Any) -> Backend:
    """A backend from a string.

    - `openai:BASE_URL#MODEL` (e.g. `openai:http://10.0.0.5:8000/v1#bigcode/starcoder`): an
      OpenAI-compatible server; `#MODEL` is optional. Options go to `OpenAICompatibleBackend`.
    - anything else: a hub id or a local folder for `TransformersBackend.from_pretrained`
      (options: `revision`, `device`, `dtype`, `batch_size`).
    """
    if spec.startswith(OPENAI_PREFIX):
        from evaluation.generation.openai_backend import OpenAICompatibleBackend

        base_url, _, model = spec[len(OPENAI_PREFIX) :].partition("#")
        if not base_url:
            raise ValueError(f"no server address in {spec!r}: use openai:http://HOST:PORT/v1#MODEL")
        if model:
            options["model"] = model
        return OpenAICompatibleBackend(base_url, **options)

    from evaluation.generation.transformers_backend import TransformersBackend

    return TransformersBackend.from_pretrained(spec, **options)
