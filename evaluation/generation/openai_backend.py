"""A backend that calls an OpenAI-compatible `/v1/completions` server (vLLM, TGI, our server.py).

Each sample is its own request with `n=1` and the sample's seed, so a sample depends on its seed
only, exactly as with the transformers backend; requests run concurrently and the server
batches them. The reply is cut again at the first stop sequence here, so a server that ignores
`stop` or limits how many it accepts still gives exact completions. Standard library only.
"""

from __future__ import annotations

import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from evaluation.benchmarks import truncate
from evaluation.generation import Completion, GenerationError, SamplingSettings, kept_token_count

RETRYABLE_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAICompatibleBackend:
    """`base_url` ends with `/v1`; `model` is the served model's name (omitted when None)."""

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 600.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        concurrency: int = 8,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"the server address must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.concurrency = max(1, concurrency)

    def sample(self, prompt: str, settings: SamplingSettings, seeds: Sequence[int]) -> list[Completion]:
        return self.sample_many([prompt] * len(seeds), settings, seeds)

    def sample_many(
        self, prompts: Sequence[str], settings: SamplingSettings, seeds: Sequence[int]
    ) -> list[Completion]:
        if len(prompts) != len(seeds):
            raise ValueError(f"{len(prompts)} prompts but {len(seeds)} seeds")
        with ThreadPoolExecutor(max_workers=min(self.concurrency, max(1, len(prompts)))) as pool:
            futures = [
                pool.submit(self._sample_one, p, settings, s) for p, s in zip(prompts, seeds, strict=True)
            ]
            return [future.result() for future in futures]

    def _sample_one(self, prompt: str, settings: SamplingSettings, seed: int) -> Completion:
        body: dict[str, Any] = {
            "prompt": prompt,
            "max_tokens": settings.max_new_tokens,
            "temperature": settings.temperature,
            "top_p": settings.top_p,
            "seed": seed,
            "n": 1,
            "logprobs": 1,
        }
        if self.model:
            body["model"] = self.model
        if settings.stop:
            body["stop"] = list(settings.stop)
        reply = self.post("/completions", body)
        try:
            return completion_from_choice(reply["choices"][0], settings.stop)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise GenerationError(
                f"{self.base_url}: unexpected reply ({error!r}): {str(reply)[:300]}"
            ) from None

    def describe(self) -> dict[str, Any]:
        """What a run's receipt records: the model the server says it served (its address stays private)."""
        return {"backend": "openai-compatible", "model": self.model or ""}

    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Scoring needs the log-probabilities of given text, which OpenAI-compatible servers do not
        agree on (echo, prompt_logprobs): it runs on a model the worker loads itself."""
        raise GenerationError(
            "scoring text (back-translation) needs a model the worker loads itself: a hub id or a folder"
        )

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST JSON; retries connection errors and 408/409/429/5xx with exponential backoff."""
        url = self.base_url + path
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode()
        for attempt in range(self.max_retries + 1):
            request = urllib.request.Request(url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.load(response)
            except urllib.error.HTTPError as error:
                message = _error_message(error)
                if error.code not in RETRYABLE_STATUSES or attempt == self.max_retries:
                    raise GenerationError(f"{url}: HTTP {error.code}: {message}") from None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
                if attempt == self.max_retries:
                    raise GenerationError(f"{url}: {error}") from None
            except json.JSONDecodeError as error:
                raise GenerationError(f"{url}: the reply is not JSON: {error}") from None
            time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")


def completion_from_choice(choice: dict[str, Any], stop: tuple[str, ...]) -> Completion:
    """A `Completion` from one OpenAI `choices` entry: cut at the first stop, keep the covering tokens."""
    raw = choice["text"]
    text = truncate(raw, stop)
    logprobs = choice.get("logprobs")
    if not logprobs or logprobs.get("token_logprobs") is None:
        raise ValueError("the server returned no logprobs")
    tokens = logprobs.get("tokens") or []
    values = [float(value) for value in logprobs["token_logprobs"]]
    offsets = logprobs.get("text_offset")
    if offsets:
        offsets = [offset - offsets[0] for offset in offsets]
    else:
        offsets, position = [], 0
        for token in tokens:
            offsets.append(position)
            position += len(token)
    kept = kept_token_count(offsets, len(text))
    finish_reason = "stop" if len(text) < len(raw) or choice.get("finish_reason") == "stop" else "length"
    return Completion(text=text, token_logprobs=tuple(values[:kept]), finish_reason=finish_reason)


def _error_message(error: urllib.error.HTTPError) -> str:
    """The server's own error message when it sends one (OpenAI style), else the status text."""
    try:
        payload = json.loads(error.read() or b"{}")
        return str(payload.get("error", {}).get("message") or error.reason)
    except (ValueError, AttributeError, OSError):
        return str(error.reason)
