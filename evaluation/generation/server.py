"""A small OpenAI-compatible completions server backed by a `TransformersBackend`.

It speaks the part of the protocol that `OpenAICompatibleBackend` uses (`POST /v1/completions`,
`GET /v1/models`), so the HTTP backend can be tested against a real server, and a few machines can
serve one run without vLLM. Requests are served one at a time (a lock around the backend); for
throughput at scale, point the HTTP backend at vLLM instead.

Choice `i` of a request is sampled with seed `seed + i` (a random seed when none is given), so
`n=1, seed=s` gives the same sample as `TransformersBackend.sample(prompt, settings, [s])`.
`top_logprobs` lists only the sampled token.

    python -m evaluation.generation.server --model PATH_OR_HUB_ID [--host 127.0.0.1] [--port 8000]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from evaluation.generation import GenerationError, SamplingSettings
from evaluation.generation.transformers_backend import TransformersBackend

MAX_BODY_BYTES = 10 * 1024 * 1024


class BadRequest(ValueError):
    pass


class CompletionsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        backend: TransformersBackend,
        *,
        model_name: str = "model",
        handler: type[BaseHTTPRequestHandler] | None = None,
    ) -> None:
        super().__init__(address, handler or CompletionsHandler)
        self.backend = backend
        self.model_name = model_name
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        """The base URL that `OpenAICompatibleBackend` takes, ending in /v1."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/v1"

    def complete(self, request: dict[str, Any]) -> dict[str, Any]:
        """The reply to one `/v1/completions` request body."""
        prompts, settings, n, seed, logprobs = parse_request(request)
        choices = []
        for prompt_index, prompt in enumerate(prompts):
            seeds = [seed + prompt_index * n + i for i in range(n)]
            with self.lock:
                completions = self.backend.sample(prompt, settings, seeds)
            for completion in completions:
                choice: dict[str, Any] = {
                    "index": len(choices),
                    "text": completion.text,
                    "finish_reason": completion.finish_reason,
                    "logprobs": None,
                }
                if logprobs is not None:
                    tokens = [self.backend.decode([token]) for token in completion.token_ids]
                    offsets = text_offsets(self.backend, prompt, completion.token_ids)
                    choice["logprobs"] = {
                        "tokens": tokens,
                        "token_logprobs": list(completion.token_logprobs),
                        "top_logprobs": [
                            {t: lp} for t, lp in zip(tokens, completion.token_logprobs, strict=True)
                        ],
                        "text_offset": offsets,
                    }
                choices.append(choice)
        prompt_tokens = sum(len(self.backend.encode(prompt)) for prompt in prompts) * n
        completion_tokens = sum(len(c["logprobs"]["tokens"]) if c["logprobs"] else 0 for c in choices)
        return {
            "id": f"cmpl-{uuid.uuid4().hex}",
            "object": "text_completion",
            "created": int(time.time()),
            "model": request.get("model") or self.model_name,
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


def text_offsets(backend: TransformersBackend, prompt: str, token_ids: tuple[int, ...]) -> list[int]:
    """OpenAI's `text_offset`: where each token starts, counted from the prompt's start.

    A character split across tokens counts from its first token on, so every kept token starts
    before the end of the text.
    """
    prompt_ids = backend.encode(prompt)
    return [
        len(prompt) + len(backend.completion_text(prompt_ids, token_ids[:count]).rstrip("\ufffd"))
        for count in range(len(token_ids))
    ]


def parse_request(request: dict[str, Any]) -> tuple[list[str], SamplingSettings, int, int, int | None]:
    """(prompts, settings, n, seed, logprobs) from a request body, with OpenAI's defaults."""
    prompt = request.get("prompt")
    prompts = [prompt] if isinstance(prompt, str) else prompt
    if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
        raise BadRequest("prompt must be a string or a non-empty list of strings")
    stop = request.get("stop") or ()
    stop = (stop,) if isinstance(stop, str) else stop
    n = request.get("n", 1)
    seed = request.get("seed")
    logprobs = request.get("logprobs")
    if not isinstance(n, int) or not 1 <= n <= 1000:
        raise BadRequest("n must be an integer from 1 to 1000")
    if seed is None:
        seed = secrets.randbits(63)
    if not isinstance(seed, int) or seed < 0:
        raise BadRequest("seed must be a non-negative integer")
    if logprobs is not None and (not isinstance(logprobs, int) or logprobs < 0):
        raise BadRequest("logprobs must be a non-negative integer")
    try:
        settings = SamplingSettings(
            temperature=float(request.get("temperature", 1.0)),
            top_p=float(request.get("top_p", 1.0)),
            max_new_tokens=int(request.get("max_tokens", 16)),
            stop=tuple(stop),
        )
    except (TypeError, ValueError) as error:
        raise BadRequest(str(error)) from None
    return prompts, settings, n, seed, logprobs


class CompletionsHandler(BaseHTTPRequestHandler):
    server: CompletionsServer

    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            self._error(404, f"no route {self.path}")
            return
        model = {"id": self.server.model_name, "object": "model", "owned_by": "local"}
        self._reply(200, {"object": "list", "data": [model]})

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/completions":
            self._error(404, f"no route {self.path}")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                raise BadRequest("request body too large")
            request = json.loads(self.rfile.read(length) or b"null")
            if not isinstance(request, dict):
                raise BadRequest("the body must be a JSON object")
            self._reply(200, self.server.complete(request))
        except (BadRequest, json.JSONDecodeError, ValueError) as error:
            self._error(400, str(error))
        except Exception as error:  # the client sees a retryable 500, not a dropped connection
            self._error(500, f"{type(error).__name__}: {error}")

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet by default: a request log line per sample would drown the worker's own log."""

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        kind = "invalid_request_error" if status < 500 else "server_error"
        self._reply(status, {"error": {"message": message, "type": kind}})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="hub id or local folder")
    parser.add_argument("--revision", default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default=None)
    args = parser.parse_args(argv)
    try:
        backend = TransformersBackend.from_pretrained(
            args.model, args.revision, device=args.device, dtype=args.dtype, batch_size=args.batch_size
        )
        server = CompletionsServer((args.host, args.port), backend, model_name=args.model)
    except (GenerationError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"serving {args.model} at {server.url}", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
