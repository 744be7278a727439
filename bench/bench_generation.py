"""Tokens per second: the project's batched sampler against one sequence at a time, transformers'
`generate` and transformers' continuous batching, on CPU or on a GPU, same model, same run.

The models are randomly initialised Llama-style decoders built from a config (nothing is
downloaded): `tiny` (about 9M parameters, for CPU), `1b` (DeepSeek-Coder-1.3B's shape) and `7b`
(CodeLlama-7B's shape), bf16 on a GPU and fp32 on CPU. The tokenizer is a byte-level BPE of 32,000
tokens trained here on the Python standard library, like a real code model's vocabulary; its
end-of-text token is the one id the model has no logit for, so no path can end a sample early.
The output layer is scaled so that next-token distributions are about as peaked as a trained code
model's (entropy near 3 nats at T=1, nuclei of tens of tokens at T=0.8; the header prints both)
rather than nearly uniform. Random weights never write a stop sequence predictably, so stop
sequences are off while timing and every sample runs to exactly --max-new-tokens new tokens on
every path: all paths do the same work.

The workload is HumanEval's: --problems prompts spread over the benchmark, --n samples of each at
T=0.8, top_p 0.95, in the command line's order (so a batch holds one or two distinct prompts).
The estimate of a 164 x 200 run is 32,800 samples at this length over the measured rate.

After timing, the bench checks on the same model and device: samples cut exactly at their stop
sequences (stops taken from the text the model wrote), log-probabilities finite and those of a
plain forward pass, the same seed giving the same tokens at every batch size, and, on a GPU, a
real out of memory (a batch too large for the card) halved and completed. It exits 1 if a check
fails.

    .venv/bin/python bench/bench_generation.py                  # CPU, tiny model, one thread
    .venv/bin/python bench/bench_generation.py --device cuda    # GPU: 1b then 7b, about 8 minutes on an H200
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import sysconfig
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluation.benchmarks import humaneval, truncate  # noqa: E402
from evaluation.generation import Completion, SamplingSettings, sample_seed  # noqa: E402
from evaluation.generation.transformers_backend import TransformersBackend, auto_dtype  # noqa: E402
from tests.tiny_model import build_tokenizer  # noqa: E402

VOCABULARY = 32000
LOGIT_STD = 4.8  # standard deviation of a row's logits: entropy near 3 nats over 32,000 tokens
FULL_RUN = 164 * 200

SIZES: dict[str, dict[str, int]] = {
    "tiny": {"hidden_size": 128, "intermediate_size": 344, "num_hidden_layers": 4, "num_attention_heads": 4},
    "1b": {
        "hidden_size": 2048,
        "intermediate_size": 5504,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
    },
    "7b": {
        "hidden_size": 4096,
        "intermediate_size": 11008,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
    },
}


@dataclass(frozen=True)
class Plan:
    """How much work each size gets: sized to keep one GPU run of 1b and 7b within 8 minutes."""

    problems: int
    n: int
    batch_sizes: tuple[int, ...]
    one_at_a_time: int


PLANS = {
    "tiny": Plan(problems=2, n=16, batch_sizes=(8, 16, 32), one_at_a_time=8),
    "1b": Plan(problems=8, n=64, batch_sizes=(64, 128, 256, 512), one_at_a_time=4),
    "7b": Plan(problems=4, n=64, batch_sizes=(32, 64, 128, 256), one_at_a_time=4),
}


@dataclass
class Row:
    label: str
    batch: str
    samples: int
    tokens: int
    seconds: float
    peak_bytes: int | None
    note: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    checks: list[tuple[str, bool | None, str]] = field(default_factory=list)

    def check(self, name: str, passed: bool | None, detail: str) -> None:
        verdict = {True: "ok", False: "FAILED", None: "skipped"}[passed]
        self.checks.append((name, passed, detail))
        print(f"  check {name}: {verdict}: {detail}", flush=True)


# --- the model, the tokenizer, the workload -----------------------------------------------------


def python_text(limit: int = 4_000_000) -> list[str]:
    """Source files of the standard library: plenty of real Python to train a tokenizer on."""
    texts, size = [], 0
    for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        texts.append(text)
        size += len(text)
        if size > limit:
            break
    return texts


def bench_tokenizer() -> Any:
    """A 32,000-token byte-level BPE plus an end-of-text token at id 32,000, past the model's logits."""
    tokenizer = build_tokenizer(python_text(), vocab_size=VOCABULARY)
    tokenizer.add_special_tokens({"eos_token": "<|end-of-sample|>"})
    assert tokenizer.eos_token_id == VOCABULARY
    return tokenizer


def build_model(size: str, device: torch.device, dtype: torch.dtype) -> Any:
    """A Llama-style decoder with random weights, built directly on the device."""
    from transformers import AutoModelForCausalLM, LlamaConfig

    shape = SIZES[size]
    config = LlamaConfig(
        vocab_size=VOCABULARY,
        num_key_value_heads=shape["num_attention_heads"],
        max_position_embeddings=4096,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
        tie_word_embeddings=False,
        **shape,
    )
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=dtype)
    with torch.no_grad():
        # RMSNorm makes the last hidden state's norm sqrt(hidden): this gives logits of LOGIT_STD.
        model.lm_head.weight.normal_(0.0, LOGIT_STD / math.sqrt(shape["hidden_size"]))
    return model.eval()


def spread_problems(count: int) -> list[Any]:
    """`count` HumanEval problems spread evenly over the benchmark (and so over its prompt lengths)."""
    problems = humaneval.load().problems
    count = min(count, len(problems))
    return [problems[i * len(problems) // count] for i in range(count)]


def first_step_shape(model: Any, tokenizer: Any, prompts: Sequence[str], temperature: float, top_p: float):
    """Mean entropy at T=1 and nucleus size at the sampling temperature of the prompts' next tokens."""
    entropies, sizes = [], []
    with torch.inference_mode():
        for prompt in prompts:
            ids = torch.tensor([tokenizer(prompt)["input_ids"]], device=model.device)
            logits = model(input_ids=ids, logits_to_keep=1).logits[0, -1].float()
            p = torch.softmax(logits, dim=-1)
            entropies.append(float(-(p * torch.log_softmax(logits, dim=-1)).sum()))
            q = torch.softmax(logits / temperature, dim=-1).sort(descending=True).values
            sizes.append(int(((q.cumsum(0) - q) < top_p).sum()))
    return sum(entropies) / len(entropies), sum(sizes) / len(sizes)


# --- timing -------------------------------------------------------------------------------------


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(device: torch.device, function: Callable[[], Any]) -> tuple[Any, float, int | None]:
    """(result, seconds, peak bytes allocated on the GPU during the call, None on CPU).

    On a GPU the seconds are wall-clock time. On CPU they are this process's CPU time: torch runs
    on one thread there, so that is the work done, and it stays put when other programs share the
    cores (wall-clock time does not)."""
    if device.type == "cuda":
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    clock = time.perf_counter if device.type == "cuda" else time.process_time
    synchronize(device)
    start = clock()
    result = function()
    synchronize(device)
    seconds = clock() - start
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return result, seconds, peak


def run_ours(backend: TransformersBackend, prompts, settings, seeds) -> list[Completion]:
    return backend.sample_many(prompts, settings, seeds)


def run_generate(model, tokenizer, prompts, settings, batch_size: int) -> None:
    """transformers' `generate` over the same rows in chunks of `batch_size`, left padded.

    It keeps no log-probabilities (that would mean keeping every step's logits), so it does a
    little less work than the other paths."""
    with torch.inference_mode():
        for start in range(0, len(prompts), batch_size):
            encoded = [tokenizer(prompt)["input_ids"] for prompt in prompts[start : start + batch_size]]
            width = max(len(ids) for ids in encoded)
            ids = torch.tensor([[0] * (width - len(row)) + row for row in encoded], device=model.device)
            mask = torch.tensor(
                [[0] * (width - len(row)) + [1] * len(row) for row in encoded], device=model.device
            )
            model.generate(
                ids,
                attention_mask=mask,
                do_sample=True,
                temperature=settings.temperature,
                top_p=settings.top_p,
                max_new_tokens=settings.max_new_tokens,
                pad_token_id=0,
            )


class ContinuousBatching:
    """transformers' continuous batching (paged attention, one scheduler over all requests) through
    its public API: `init_continuous_batching`, then one request per sample.

    The manager is made and started once (as a worker would keep it) and its setup time is shown
    apart. Sampling is `torch.multinomial` from one generator seeded once for the manager: which
    token a request gets depends on which other requests share its step."""

    def __init__(self, model: Any, settings: SamplingSettings, prompt_lengths: Sequence[int], requests: int):
        from transformers import GenerationConfig
        from transformers.generation.configuration_utils import ContinuousBatchingConfig
        from transformers.generation.continuous_batching.utils import WorkloadHints

        generation = GenerationConfig(
            do_sample=True,
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_new_tokens=settings.max_new_tokens,
            eos_token_id=-1,
            pad_token_id=0,
        )
        options: dict[str, Any] = {"seed": 0, "return_logprobs": True}
        if model.device.type == "cpu":
            # Without psutil it cannot size itself on CPU: a cache for the whole workload, 1,024
            # tokens a step (the fastest of 256, 1,024 and 4,096 measured here).
            page = 256
            per_request = math.ceil((max(prompt_lengths) + settings.max_new_tokens) / page)
            options.update(page_size=page, num_blocks=per_request * requests + 4, max_batch_tokens=1024)
        hints = WorkloadHints(
            max_prompt_length=max(prompt_lengths),
            max_generated_length=settings.max_new_tokens,
            num_requests=requests,
        )
        self.max_new_tokens = settings.max_new_tokens
        self.manager = model.init_continuous_batching(
            generation_config=generation,
            continuous_batching_config=ContinuousBatchingConfig(**options),
            workload_hints=hints,
        )
        self.manager.warmup()
        self.manager.start()

    def run(self, inputs: list[list[int]], limit: float = 180) -> list[Any]:
        """One output per input, in order; gives up after `limit` seconds so that one run stays bounded."""
        deadline = time.perf_counter() + limit
        ids = self.manager.add_requests(inputs, max_new_tokens=self.max_new_tokens)
        results: dict[str, Any] = {}
        while len(results) < len(ids):
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{len(results)}/{len(ids)} requests done after {limit:.0f} s")
            result = self.manager.get_result(timeout=1)
            if result is not None and result.is_finished():
                results[result.request_id] = result
            elif result is None and not self.manager.is_running():
                raise RuntimeError("the continuous batching loop stopped")
        errors = [r.error for r in results.values() if r.error]
        if errors:
            raise RuntimeError(f"{len(errors)} requests failed: {errors[0]}")
        return [results[i] for i in ids]

    def close(self) -> None:
        self.manager.stop(block=True, timeout=30)
        self.manager.destroy()


# --- checks -------------------------------------------------------------------------------------


def ascii_stop(text: str, length: int = 4) -> str | None:
    """A printable ASCII piece of `text` from a third of the way in: a stop the model surely wrote."""
    for start in range(len(text) // 3, len(text) - length):
        piece = text[start : start + length]
        if piece.isascii() and piece.isprintable() and piece.strip():
            return piece
    return None


def check_stops(report: Report, backend, prompts, seeds, settings) -> None:
    """Stops taken from unstopped samples; the same seeds with them must end where truncation says.

    Both runs start at the same batch size; a sample that wrote another token before its stop than
    unstopped (rows leave the batch as they stop) is counted apart: that is reproducibility."""
    count = min(16, len(prompts))
    raw = backend.sample_many(prompts[:count], settings, seeds[:count])
    stops = tuple(dict.fromkeys(s for s in (ascii_stop(c.text) for c in raw) if s))
    if not stops:
        report.check("stop sequences", False, "no printable piece to use as a stop in the samples")
        return
    cut_settings = SamplingSettings(settings.temperature, settings.top_p, settings.max_new_tokens, stops)
    cut = backend.sample_many(prompts[:count], cut_settings, seeds[:count])
    wrong, diverged, stopped = [], 0, 0
    for index, (short, long) in enumerate(zip(cut, raw, strict=True)):
        if any(stop in short.text for stop in stops):
            wrong.append(f"sample {index} keeps a stop sequence")
        elif long.token_ids[: len(short.token_ids)] != short.token_ids:
            diverged += 1
        elif short.text != truncate(long.text, stops):
            wrong.append(f"sample {index}: {short.text[-20:]!r} is not cut at its first stop")
        elif short.finish_reason != "stop" or len(short.text) == len(long.text):
            wrong.append(f"sample {index} ran on past its stop")
        else:
            stopped += 1
    detail = f"{stopped}/{count} cut exactly at the first of {len(stops)} stops"
    if diverged:
        detail += f"; {diverged} wrote another token before the stop than unstopped"
    report.check("stop sequences", not wrong and stopped >= count // 2, "; ".join([detail, *wrong[:3]]))


def check_logprobs(report: Report, backend, prompts, samples: list[Completion], half: bool) -> None:
    """Finite and <= 0 everywhere; equal to a plain forward pass without cache for two samples."""
    values = [value for sample in samples for value in sample.token_logprobs]
    bad = sum(1 for value in values if not math.isfinite(value) or value > 1e-6)
    differences = []
    with torch.inference_mode():
        for prompt, sample in list(zip(prompts, samples, strict=True))[:2]:
            prompt_ids = backend.encode(prompt)
            ids = torch.tensor([prompt_ids + list(sample.token_ids)], device=backend.device)
            logits = backend.model(input_ids=ids).logits[0, len(prompt_ids) - 1 : -1].float()
            expected = torch.log_softmax(logits, dim=-1).gather(-1, ids[0, len(prompt_ids) :, None])[:, 0]
            got = torch.tensor(sample.token_logprobs, device=expected.device)
            differences.append((got - expected).abs())
    difference = torch.cat(differences)
    tolerance = 0.25 if half else 1e-3  # bf16 logits differ between a cached step and a full pass
    report.check(
        "log-probabilities",
        bad == 0 and float(difference.mean()) <= tolerance / 5 and float(difference.max()) <= tolerance,
        f"{len(values) - bad}/{len(values)} finite and <= 0; against a forward pass without cache: "
        f"mean difference {float(difference.mean()):.2g}, max {float(difference.max()):.2g} nats",
    )


def first_difference(a: Completion, b: Completion) -> int:
    for position, (x, y) in enumerate(zip(a.token_ids, b.token_ids, strict=False)):
        if x != y:
            return position
    return min(len(a.token_ids), len(b.token_ids))


def check_same_samples(report: Report, by_batch: dict[int, list[Completion]], one: list[Completion]) -> None:
    """The same seed gives the same tokens at every batch size, one sequence at a time included."""
    sizes = sorted(by_batch)
    reference = by_batch[sizes[-1]]
    runs = [by_batch[size] for size in sizes] + [one]
    same = sum(
        all(run[i].token_ids == reference[i].token_ids for run in runs if i < len(run))
        for i in range(len(reference))
    )
    firsts = sorted(
        first_difference(run[i], reference[i])
        for run in runs
        for i in range(len(run))
        if run[i].token_ids != reference[i].token_ids
    )
    detail = f"{same}/{len(reference)} samples identical at batch sizes {', '.join(map(str, [1, *sizes]))}"
    if firsts:
        detail += f" (the rest first differ at new token {firsts[0]} to {firsts[-1]})"
    report.check("same seed, same sample", same == len(reference), detail)


def check_out_of_memory(report: Report, model, tokenizer, prompt: str, settings: SamplingSettings) -> None:
    """A batch of two to four times what the card holds: the backend must halve it until it fits and
    finish. How many of its first samples equal those at batch size 4 is shown, not judged here:
    that is the reproducibility check's business."""
    if model.device.type != "cuda":
        report.check("out of memory halved", None, "on CPU there is no GPU memory to run out of")
        return
    gc.collect()
    torch.cuda.empty_cache()
    config = model.config
    head = config.hidden_size // config.num_attention_heads
    per_token = 2 * config.num_hidden_layers * config.num_key_value_heads * head * model.dtype.itemsize
    small = SamplingSettings(settings.temperature, settings.top_p, 8, ())
    length = len(tokenizer(prompt)["input_ids"]) + small.max_new_tokens
    free, _ = torch.cuda.mem_get_info(model.device)
    rows = 2 ** math.ceil(math.log2(2 * free / (per_token * length)))
    seeds = [sample_seed("oom", "HumanEval", i) for i in range(rows)]
    backend = TransformersBackend(model, tokenizer, batch_size=rows)
    start = time.perf_counter()
    try:
        samples = backend.sample(prompt, small, seeds)
    except Exception as error:  # noqa: BLE001 - any failure is the finding
        report.check(
            "out of memory halved", False, f"a batch of {rows}: {type(error).__name__}: {error}"[:300]
        )
        return
    seconds = time.perf_counter() - start
    again = TransformersBackend(model, tokenizer, batch_size=4).sample(prompt, small, seeds[:4])
    same = sum(a.token_ids == b.token_ids for a, b in zip(again, samples, strict=False))
    report.check(
        "out of memory halved",
        len(samples) == rows and backend.batch_size < rows,
        f"{rows} rows of {length} tokens asked ({rows * length * per_token / 2**30:.0f} GiB of cache, "
        f"{free / 2**30:.0f} GiB free): finished at batch size {backend.batch_size} in {seconds:.1f} s; "
        f"{same}/{len(again)} of its first samples equal to those at batch size 4",
    )


# --- one size -----------------------------------------------------------------------------------


def bench_size(
    size: str, device: torch.device, args: argparse.Namespace, tokenizer: Any, report: Report
) -> None:
    plan = PLANS[size]
    problems_count = args.problems or plan.problems
    n = args.n or plan.n
    batch_sizes = args.batch_sizes or plan.batch_sizes
    one_count = args.one_at_a_time or plan.one_at_a_time
    dtype = auto_dtype(str(device))
    model = build_model(size, device, dtype)
    parameters = sum(p.numel() for p in model.parameters())
    problems = spread_problems(problems_count)
    rows = [(problem, index) for problem in problems for index in range(n)]
    prompts = [problem.prompt for problem, _ in rows]
    seeds = [sample_seed("bench", problem.task_id, index) for problem, index in rows]
    settings = SamplingSettings(args.temperature, args.top_p, args.max_new_tokens, stop=())
    lengths = [len(tokenizer(problem.prompt)["input_ids"]) for problem in problems]
    entropy, nucleus = first_step_shape(
        model, tokenizer, [p.prompt for p in problems], args.temperature, args.top_p
    )
    new = settings.max_new_tokens
    print(
        f"\n== {size}: Llama-style, {parameters / 1e9:.2f}B parameters, {str(dtype).removeprefix('torch.')}, "
        f"vocabulary {VOCABULARY}\n   {len(problems)} HumanEval prompts of {min(lengths)}-{max(lengths)} "
        f"tokens x n={n} = {len(rows)} samples of exactly {new} new tokens, T={args.temperature}, "
        f"top_p={args.top_p}; next token: entropy {entropy:.1f} nats, nucleus {nucleus:.0f} tokens",
        flush=True,
    )

    # Warm-up at batch 1 and 2: kernels, allocator, threads.
    warm = SamplingSettings(args.temperature, args.top_p, 16, ())
    for batch_size in (1, 2):
        TransformersBackend(model, tokenizer, batch_size=batch_size).sample_many(prompts[:2], warm, seeds[:2])

    results: dict[int, list[Completion]] = {}
    one = TransformersBackend(model, tokenizer, batch_size=1)
    one_samples, seconds, peak = measure(
        device, lambda: run_ours(one, prompts[:one_count], settings, seeds[:one_count])
    )
    report.rows.append(
        Row("one sequence at a time (ours, batch 1)", "1", one_count, one_count * new, seconds, peak)
    )
    print(f"  one at a time: {one_count * new / seconds:.0f} tokens/s", flush=True)
    best = None
    for batch_size in batch_sizes:
        backend = TransformersBackend(model, tokenizer, batch_size=batch_size)
        try:
            samples, seconds, peak = measure(device, lambda b=backend: run_ours(b, prompts, settings, seeds))
        except torch.OutOfMemoryError:
            print(f"  ours at batch {batch_size}: out of memory", flush=True)
            continue
        note = "" if backend.batch_size == batch_size else f"halved to {backend.batch_size} by out of memory"
        results[batch_size] = samples
        row = Row(
            f"ours, batch {batch_size}", str(batch_size), len(rows), len(rows) * new, seconds, peak, note
        )
        report.rows.append(row)
        print(f"  ours at batch {batch_size}: {len(rows) * new / seconds:.0f} tokens/s", flush=True)
        if best is None or seconds < best.seconds:
            best = row
    assert best is not None, "no batch size fitted"
    best.label += " (best)"
    best_size = int(best.batch)

    torch.manual_seed(0)
    try:
        _, seconds, peak = measure(
            device, lambda: run_generate(model, tokenizer, prompts, settings, best_size)
        )
        report.rows.append(
            Row(
                f"transformers generate, batch {best_size}",
                str(best_size),
                len(rows),
                len(rows) * new,
                seconds,
                peak,
            )
        )
    except Exception as error:  # noqa: BLE001 - one failing path must not hide the others
        report.rows.append(
            Row("transformers generate", str(best_size), 0, 0, math.nan, None, f"failed: {error}"[:120])
        )

    inputs = [tokenizer(prompt)["input_ids"] for prompt in prompts]
    try:
        (continuous, setup_seconds, setup_peak) = measure(
            device, lambda: ContinuousBatching(model, settings, lengths, len(rows))
        )
        try:
            continuous.run(inputs[:2])
            outputs, seconds, peak = measure(device, lambda: continuous.run(inputs))
        finally:
            continuous.close()
        produced = sum(len(output.generated_tokens) for output in outputs)
        logprobs_ok = all(math.isfinite(x) for output in outputs for x in output.logprobs)
        note = f"setup {setup_seconds:.1f} s; {produced} tokens" + (
            "" if logprobs_ok else "; non-finite logprobs"
        )
        peak = max(peak or 0, setup_peak or 0) if device.type == "cuda" else None
        report.rows.append(
            Row("transformers continuous batching", "all", len(rows), produced, seconds, peak, note)
        )
    except Exception as error:  # noqa: BLE001
        report.rows.append(
            Row("transformers continuous batching", "all", 0, 0, math.nan, None, f"failed: {error}"[:120])
        )
    print_table(report.rows, report.rows[0], device)

    if not args.skip_checks:
        print("checks:", flush=True)
        check_stops(
            report,
            TransformersBackend(model, tokenizer, batch_size=best_size),
            prompts,
            seeds,
            settings,
        )
        check_logprobs(report, one, prompts, results[best_size], half=dtype != torch.float32)
        check_same_samples(report, results, one_samples)
        longest = max(problems, key=lambda p: len(tokenizer(p.prompt)["input_ids"]))
        check_out_of_memory(report, model, tokenizer, longest.prompt, settings)


def print_table(rows: list[Row], baseline: Row, device: torch.device) -> None:
    base_rate = baseline.tokens / baseline.seconds
    if device.type == "cpu":
        print("  (per second of this process's CPU time, torch on one thread; the 164x200 run likewise)")
    print(
        f"  {'path':44s} {'batch':>5s} {'tokens/s':>9s} {'vs one':>7s} {'peak GPU':>9s} "
        f"{'164x200 run':>12s}  note"
    )
    for row in rows:
        rate = row.tokens / row.seconds if row.seconds == row.seconds and row.seconds > 0 else math.nan
        peak = f"{row.peak_bytes / 2**30:.1f} GiB" if row.peak_bytes is not None else "-"
        per_sample = row.tokens / row.samples if row.samples else math.nan
        hours = FULL_RUN * per_sample / rate / 3600 if rate == rate and rate > 0 else math.nan
        print(
            f"  {row.label:44s} {row.batch:>5s} {rate:9.0f} {rate / base_rate:6.2f}x {peak:>9s} "
            f"{hours:10.1f} h  {row.note}",
            flush=True,
        )
    rows.clear()


def parse_sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument(
        "--size", default=None, help="tiny, 1b, 7b or a comma list (default: tiny on CPU, 1b,7b on a GPU)"
    )
    parser.add_argument("--problems", type=int, default=None, help="HumanEval prompts (default: per size)")
    parser.add_argument("--n", type=int, default=None, help="samples per prompt (default: per size)")
    parser.add_argument(
        "--batch-sizes", type=parse_sizes, default=None, help="e.g. 32,64,128 (default: per size)"
    )
    parser.add_argument("--one-at-a-time", type=int, default=None, help="samples for the batch-1 baseline")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: 1 on CPU)")
    parser.add_argument("--skip-checks", action="store_true")
    args = parser.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if args.threads or device.type == "cpu":
        # One thread: a small model gains little from more, and loses much when the cores are shared.
        torch.set_num_threads(args.threads or 1)
    sizes = (args.size or ("1b,7b" if device.type == "cuda" else "tiny")).split(",")
    unknown = [size for size in sizes if size not in SIZES]
    if unknown:
        parser.error(f"unknown size {unknown[0]!r}: use {', '.join(SIZES)}")
    import transformers

    where = (
        f"cuda: {torch.cuda.get_device_name(device)}"
        if device.type == "cuda"
        else f"cpu: {torch.get_num_threads()} threads"
    )
    print(f"device {where} | torch {torch.__version__} | transformers {transformers.__version__}", flush=True)
    started = time.perf_counter()
    tokenizer = bench_tokenizer()
    report = Report()
    for size in sizes:
        bench_size(size, device, args, tokenizer, report)
        gc.collect()
        if device.type == "cuda":
            torch.cuda.empty_cache()
    failed = [name for name, passed, _ in report.checks if passed is False]
    print(f"\n{time.perf_counter() - started:.0f} s in all; checks failed: {', '.join(failed) or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
