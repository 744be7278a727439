"""Batched nucleus sampling with torch and transformers, reproducible per seed.

How one batch is sampled:
- prompts are tokenized, each distinct prompt is run once (left padded, with explicit position
  ids) and its key/value cache is copied to every row that uses it;
- each row draws its randomness from its own seed only: `torch.Generator().manual_seed(seed)`
  gives a few uniform numbers per step, turned into a token by `choose_tokens`. A row's sample
  therefore does not depend on which other rows share its batch, on the batch size or on the
  device's random number generator, up to floating-point differences in the logits between batch
  shapes, which `choose_tokens` makes matter only rarely. The same chunk on the same hardware
  reproduces exactly;
- after each step, rows that produced the end-of-text token or a stop sequence, or reached their
  token limit, leave the batch (their cache rows are dropped), so they stop costing work;
- afterwards each row's text is decoded with its prompt as left context (SentencePiece
  tokenizers drop a leading space otherwise) and cut at the first stop sequence.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from evaluation.benchmarks import truncate
from evaluation.generation import Completion, GenerationError, SamplingSettings

DEFAULT_BATCH_SIZE = 32
# Uniform numbers per row and step: candidates for the nucleus, then one for the rare fallback.
DRAWS_PER_STEP = 9

_MODELS: dict[tuple[str, str | None, str, str], tuple[Any, Any]] = {}
_MODELS_LOCK = threading.Lock()


def auto_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def auto_dtype(device: str) -> torch.dtype:
    """bf16 on GPUs that support it, fp16 on older GPUs, fp32 on CPU (half precision is slow there)."""
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def _resolve_dtype(dtype: str | torch.dtype | None, device: str) -> torch.dtype:
    if dtype is None or dtype == "auto":
        return auto_dtype(device)
    if isinstance(dtype, torch.dtype):
        return dtype
    names = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    names.update({"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16})
    if dtype not in names:
        raise ValueError(f"unknown dtype {dtype!r}: use one of {', '.join(sorted(names))} or auto")
    return names[dtype]


def load_model(
    model_id: str,
    revision: str | None = None,
    *,
    device: str | None = None,
    dtype: str | torch.dtype | None = None,
) -> tuple[Any, Any]:
    """(model, tokenizer), loaded once per process for each (id, revision, dtype, device)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    device = device or auto_device()
    torch_dtype = _resolve_dtype(dtype, device)
    key = (model_id, revision, str(torch_dtype), device)
    with _MODELS_LOCK:
        if key not in _MODELS:
            tokenizer = AutoTokenizer.from_pretrained(model_id, revision=revision)
            model = AutoModelForCausalLM.from_pretrained(model_id, revision=revision, dtype=torch_dtype)
            _MODELS[key] = (model.to(device).eval(), tokenizer)
        return _MODELS[key]


class TransformersBackend:
    """Samples from a causal language model in batches of up to `batch_size` sequences.

    Not thread-safe: one backend per worker thread, or a lock around it (as the server does).
    """

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.device = next(model.parameters()).device
        self.max_positions: int | None = getattr(model.config, "max_position_embeddings", None)

    @classmethod
    def from_pretrained(
        cls,
        model_id: str,
        revision: str | None = None,
        *,
        device: str | None = None,
        dtype: str | torch.dtype | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> TransformersBackend:
        """A hub id (with a pinned revision) or a local folder; the weights are shared per process."""
        if model_id.startswith(("/", ".", "~")) and not Path(model_id).expanduser().is_dir():
            raise GenerationError(f"cannot load model {model_id!r}: no such folder")
        try:
            model, tokenizer = load_model(model_id, revision, device=device, dtype=dtype)
        except OSError as error:
            raise GenerationError(f"cannot load model {model_id!r}: {error}") from None
        return cls(model, tokenizer, batch_size=batch_size)

    def describe(self) -> dict[str, Any]:
        """What a run's receipt records of the model: the commit of its weights (hub), precision, device."""
        return {
            "backend": "transformers",
            "commit": getattr(self.model.config, "_commit_hash", None) or "",
            "dtype": str(next(self.model.parameters()).dtype).removeprefix("torch."),
            "device": str(self.device),
            "batch_size": self.batch_size,
        }

    def sample(self, prompt: str, settings: SamplingSettings, seeds: Sequence[int]) -> list[Completion]:
        return self.sample_many([prompt] * len(seeds), settings, seeds)

    def sample_many(
        self, prompts: Sequence[str], settings: SamplingSettings, seeds: Sequence[int]
    ) -> list[Completion]:
        """Samples in chunks of `batch_size`.

        Out of GPU memory, the chunk is redone at half the batch size, which then stays halved for
        this backend; the seeds make the redone chunk's samples those it would have given.
        """
        if len(prompts) != len(seeds):
            raise ValueError(f"{len(prompts)} prompts but {len(seeds)} seeds")
        for seed in seeds:
            if not 0 <= seed < 2**64:
                raise ValueError(f"seeds must be in [0, 2**64), got {seed}")
        encoded = [self.encode(prompt) for prompt in prompts]
        results: list[Completion] = []
        while len(results) < len(prompts):
            start, stop = len(results), min(len(results) + self.batch_size, len(prompts))
            try:
                results.extend(self._generate(encoded[start:stop], seeds[start:stop], settings))
                continue
            except torch.OutOfMemoryError:
                if self.batch_size == 1:
                    raise
            self.batch_size //= 2
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        return results

    @torch.inference_mode()
    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """log P(continuation | prompt) under the model at temperature 1, one figure per pair.

        The continuation's tokens are those the tokenizer gives it alone (no special tokens), so a
        pair scores the same whatever the batch; batches are right padded."""
        scores: list[float] = []
        for start in range(0, len(pairs), self.batch_size):
            batch = pairs[start : start + self.batch_size]
            rows = [
                (self.encode(prompt), list(self.tokenizer(text, add_special_tokens=False)["input_ids"]))
                for prompt, text in batch
            ]
            width = max(len(prompt) + len(text) for prompt, text in rows)
            if self.max_positions is not None and width > self.max_positions:
                raise ValueError(
                    f"a pair of {width} tokens exceeds the model's {self.max_positions}-token context"
                )
            pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
            ids = [prompt + text + [pad] * (width - len(prompt) - len(text)) for prompt, text in rows]
            mask = [
                [1] * (len(prompt) + len(text)) + [0] * (width - len(prompt) - len(text))
                for prompt, text in rows
            ]
            logits = self.model(
                input_ids=torch.tensor(ids, device=self.device),
                attention_mask=torch.tensor(mask, device=self.device),
            ).logits.float()
            logprobs = torch.log_softmax(logits, dim=-1)
            for row, (prompt, text) in enumerate(rows):
                positions = torch.arange(len(prompt) - 1, len(prompt) + len(text) - 1, device=self.device)
                targets = torch.tensor(text, device=self.device, dtype=torch.long)
                scores.append(float(logprobs[row, positions, targets].double().sum()))
        return scores

    def encode(self, prompt: str) -> list[int]:
        """Prompt token ids, with the special tokens the tokenizer adds (e.g. Llama's BOS).

        An empty prompt becomes the beginning-of-text token (GPT-2's <|endoftext|>): the model
        needs at least one token to condition on.
        """
        ids = list(self.tokenizer(prompt)["input_ids"])
        if not ids:
            start = self.tokenizer.bos_token_id
            start = self.tokenizer.eos_token_id if start is None else start
            if start is None:
                raise ValueError("an empty prompt needs a tokenizer with a beginning- or end-of-text token")
            ids = [start]
        return ids

    def decode(self, token_ids: Sequence[int]) -> str:
        """Exact text: no clean-up of spaces (it would rewrite code such as `x != y`)."""
        return self.tokenizer.decode(
            list(token_ids), skip_special_tokens=True, clean_up_tokenization_spaces=False
        )

    @torch.inference_mode()
    def _generate(
        self, prompts: list[list[int]], seeds: Sequence[int], settings: SamplingSettings
    ) -> list[Completion]:
        rows = len(prompts)
        limits = [self._token_limit(len(ids), settings.max_new_tokens) for ids in prompts]
        logits, cache, mask, positions = self._prefill(prompts)
        shape = (max(limits), DRAWS_PER_STEP)
        uniforms = torch.stack(
            [
                torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
                for seed in seeds
            ]
        ).to(device=self.device, dtype=torch.float32)
        eos = self.tokenizer.eos_token_id
        window = max((len(stop) for stop in settings.stop), default=0) + 1
        tokens: list[list[int]] = [[] for _ in range(rows)]
        logprobs: list[list[float]] = [[] for _ in range(rows)]
        ended_by_eos = [False] * rows
        active = list(range(rows))
        step = 0
        while True:
            chosen, chosen_logprobs = choose_tokens(logits, uniforms[:, step], settings)
            for row, token, logprob in zip(active, chosen.tolist(), chosen_logprobs.tolist(), strict=True):
                tokens[row].append(token)
                logprobs[row].append(logprob)
            tails = self._tails([tokens[row] for row in active], window) if settings.stop else None
            keep = []
            for position, row in enumerate(active):
                ended_by_eos[row] = tokens[row][-1] == eos
                stopped = tails is not None and any(stop in tails[position] for stop in settings.stop)
                if not (ended_by_eos[row] or stopped or len(tokens[row]) >= limits[row]):
                    keep.append(position)
            if not keep:
                break
            if len(keep) < len(active):
                index = torch.tensor(keep, device=self.device)
                cache.batch_select_indices(index)
                mask, positions, uniforms, chosen = (
                    mask[index],
                    positions[index],
                    uniforms[index],
                    chosen[index],
                )
                active = [active[position] for position in keep]
            mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=1)
            positions = positions + 1
            output = self.model(
                input_ids=chosen[:, None],
                attention_mask=mask,
                position_ids=positions[:, None],
                past_key_values=cache,
                use_cache=True,
            )
            logits, cache = output.logits[:, -1, :].float(), output.past_key_values
            step += 1
        return [
            self._completion(prompts[row], tokens[row], logprobs[row], ended_by_eos[row], settings.stop)
            for row in range(rows)
        ]

    def _token_limit(self, prompt_length: int, max_new_tokens: int) -> int:
        if self.max_positions is None:
            return max_new_tokens
        room = self.max_positions - prompt_length
        if room < 1:
            raise ValueError(
                f"a prompt of {prompt_length} tokens leaves no room to generate "
                f"in the model's {self.max_positions}-token context"
            )
        return min(max_new_tokens, room)

    def _prefill(self, prompts: list[list[int]]) -> tuple[torch.Tensor, Any, torch.Tensor, torch.Tensor]:
        """Runs each distinct prompt once, left padded, then gives every row a copy of its cache."""
        distinct: dict[tuple[int, ...], int] = {}
        row_to_prompt = [distinct.setdefault(tuple(ids), len(distinct)) for ids in prompts]
        width = max(len(ids) for ids in distinct)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        input_ids = torch.tensor(
            [[pad] * (width - len(ids)) + list(ids) for ids in distinct], device=self.device
        )
        mask = torch.tensor(
            [[0] * (width - len(ids)) + [1] * len(ids) for ids in distinct], device=self.device
        )
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        output = self.model(
            input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1
        )
        logits, cache = output.logits[:, -1, :].float(), output.past_key_values
        if len(distinct) < len(prompts):
            index = torch.tensor(row_to_prompt, device=self.device)
            cache.batch_select_indices(index)
            logits, mask, positions = logits[index], mask[index], positions[index]
        return logits, cache, mask, positions[:, -1]

    def _tails(self, sequences: list[list[int]], window: int) -> list[str]:
        """The text of each sequence's last tokens: enough to see a stop sequence that just ended."""
        return self.tokenizer.batch_decode(
            [ids[-window:] for ids in sequences], skip_special_tokens=True, clean_up_tokenization_spaces=False
        )

    def completion_text(self, prompt: Sequence[int], tokens: Sequence[int]) -> str:
        """The text `tokens` add after `prompt`, decoded in context (alone, SentencePiece drops a space)."""
        prompt_text = self.decode(prompt)
        full = self.decode([*prompt, *tokens])
        return full[len(prompt_text) :] if full.startswith(prompt_text) else self.decode(tokens)

    def _completion(
        self,
        prompt: list[int],
        tokens: list[int],
        logprobs: list[float],
        ended_by_eos: bool,
        stop: tuple[str, ...],
    ) -> Completion:
        untruncated = self.completion_text(prompt, tokens)
        text = truncate(untruncated, stop)
        low, high = 0, len(tokens)
        while low < high:
            middle = (low + high) // 2
            if self.completion_text(prompt, tokens[:middle]).startswith(text):
                high = middle
            else:
                low = middle + 1
        finish_reason = "stop" if ended_by_eos or len(text) < len(untruncated) else "length"
        return Completion(
            text=text,
            token_logprobs=tuple(logprobs[:low]),
            finish_reason=finish_reason,
            token_ids=tuple(tokens[:low]),
        )


def choose_tokens(
    logits: torch.Tensor, uniforms: torch.Tensor, settings: SamplingSettings
) -> tuple[torch.Tensor, torch.Tensor]:
    """Next token per row (greedy at temperature 0, else nucleus sampling) and its log-probability.

    `uniforms` holds DRAWS_PER_STEP numbers in [0, 1) per row. The nucleus is every token at least
    as likely as the least likely member of the smallest set of most likely tokens whose
    probability reaches top_p. Sampling from it is done by rejection: each uniform number but the
    last picks a candidate from the whole tempered distribution (the first token, in vocabulary
    order, whose cumulative probability exceeds it) and the first candidate inside the nucleus is
    kept; if none is, the last number picks from the nucleus directly the same way. Either path
    draws from the nucleus distribution exactly. Vocabulary order and rejection are there for
    reproducibility across batch shapes: rounding noise in the logits then changes a token only
    when a number falls within that noise of a boundary, or when the candidate itself sits at the
    nucleus edge, not whenever nearly equal probabilities swap places in a sort.
    """
    logprobs = torch.log_softmax(logits, dim=-1)
    if settings.temperature == 0:
        chosen = logits.argmax(dim=-1)
    else:
        probs = torch.softmax(logits / settings.temperature, dim=-1)
        candidates = _inverse_cdf(probs, uniforms[:, :-1])
        if settings.top_p < 1:
            threshold = _nucleus_threshold(probs, settings.top_p)
            inside = probs.gather(-1, candidates) >= threshold
            chosen = candidates.gather(-1, inside.int().argmax(dim=-1, keepdim=True))
            rejected = ~inside.any(dim=-1, keepdim=True)
            if rejected.any():
                fallback = _inverse_cdf(probs * (probs >= threshold), uniforms[:, -1:])
                chosen = torch.where(rejected, fallback, chosen)
        else:
            chosen = candidates[:, :1]
        chosen = chosen.squeeze(-1)
    return chosen, logprobs.gather(-1, chosen[:, None]).squeeze(-1)


def _nucleus_threshold(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Per row, the probability of the least likely token of the nucleus.

    Looks at the k most likely tokens of the rows whose nucleus has not ended yet, with k growing
    until every row's nucleus ends within them: a nucleus is usually small, `topk` of a small k is
    much faster than a full sort on CPU, and a wide nucleus in one row leaves the others alone.
    A row's threshold does not depend on the k it was found at (the prefix sums are the same).
    """
    vocabulary = probs.shape[-1]
    threshold = probs.new_empty(probs.shape[0], 1)
    rows = torch.arange(probs.shape[0], device=probs.device)
    k = 64
    while True:
        part = probs if len(rows) == probs.shape[0] else probs[rows]
        if 4 * k >= vocabulary:
            top = part.sort(dim=-1, descending=True).values
        else:
            top = part.topk(k, dim=-1).values
        size = ((top.cumsum(dim=-1) - top) < top_p).sum(dim=-1, keepdim=True)
        threshold[rows] = top.gather(-1, size - 1)
        if top.shape[-1] == vocabulary:
            return threshold
        still_open = size[:, 0] == top.shape[-1]
        if not bool(still_open.any()):
            return threshold
        rows = rows[still_open]
        k *= 4


def _inverse_cdf(probs: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Per row and number u: the first token whose cumulative probability exceeds u * total mass."""
    cumulative = probs.cumsum(dim=-1)
    picks = torch.searchsorted(cumulative, (uniforms * cumulative[:, -1:]).contiguous(), right=True)
    vocabulary = probs.shape[-1]
    if bool((picks == vocabulary).any()):
        # u * total rounded up to the total: take the last token that has any probability.
        last = torch.arange(vocabulary, device=probs.device).mul(probs > 0).amax(dim=-1, keepdim=True)
        picks = torch.minimum(picks, last)
    return picks
