"""Samples per second: batched sampling against one sequence at a time, same model, same run.

The model is a randomly initialised GPT-2 (about 22M parameters: 6 layers, 256 dims, a 32k
byte-level BPE trained here on the Python standard library), so nothing is downloaded. Its output
layer is scaled so that next-token distributions are about as peaked as a trained code model's
(entropy near 3 nats, nuclei of tens of tokens) rather than uniform, which would make the
nucleus cut cost far more than it does in practice. Stop sequences are off and every sample runs
to --max-new-tokens, so both ways do the same work; `transformers`' own `generate` at the same
batch size is printed as a reference.

    .venv/bin/python bench/bench_generation.py [--device cpu|cuda] [--n 32] [--batch-size 32] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluation.benchmarks import humaneval  # noqa: E402
from evaluation.generation import SamplingSettings, sample_seed  # noqa: E402
from evaluation.generation.transformers_backend import TransformersBackend, load_model  # noqa: E402
from tests.tiny_model import build_tokenizer  # noqa: E402


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


def build_model(folder: Path) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    tokenizer = build_tokenizer(python_text(), vocab_size=32768)
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=1024,
        n_embd=256,
        n_layer=6,
        n_head=4,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=False,
    )
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        model.lm_head.weight.normal_(0.0, 0.3)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def timed(function) -> float:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    function()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    parser.add_argument("--n", type=int, default=32, help="samples per way of sampling")
    parser.add_argument("--batch-size", type=int, default=None, help="default: --n")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-p", type=float, default=0.95)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    batch_size = args.batch_size or args.n

    with tempfile.TemporaryDirectory() as folder:
        build_model(Path(folder))
        model, tokenizer = load_model(folder, device=args.device)
    device = next(model.parameters()).device
    if device.type == "cuda":
        where = f"cuda: {torch.cuda.get_device_name(device)}"
    else:
        where = f"cpu: {torch.get_num_threads()} threads"
    problem = humaneval.load().problems[0]
    settings = SamplingSettings(
        temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens, stop=()
    )
    seeds = [sample_seed("bench", problem.task_id, i) for i in range(args.n)]
    prompt_tokens = len(tokenizer(problem.prompt)["input_ids"])
    parameters = sum(p.numel() for p in model.parameters())
    print(
        f"device {where} | {model.dtype} | torch {torch.__version__} | GPT-2 {parameters / 1e6:.1f}M "
        f"parameters, vocab {len(tokenizer)} | prompt {prompt_tokens} tokens, "
        f"{args.max_new_tokens} new tokens per sample, n={args.n}, T={args.temperature}, top_p={args.top_p}"
    )

    one = TransformersBackend(model, tokenizer, batch_size=1)
    batched = TransformersBackend(model, tokenizer, batch_size=batch_size)
    one.sample(problem.prompt, settings, seeds[:2])
    batched.sample(problem.prompt, settings, seeds[:batch_size])

    results: dict[str, list] = {}
    baseline = timed(lambda: results.setdefault("one", one.sample(problem.prompt, settings, seeds)))
    fast = timed(lambda: results.setdefault("batched", batched.sample(problem.prompt, settings, seeds)))
    ids = torch.tensor([tokenizer(problem.prompt)["input_ids"]], device=device)

    def generate() -> None:
        with torch.inference_mode():
            for start in range(0, args.n, batch_size):
                model.generate(
                    ids,
                    attention_mask=torch.ones_like(ids),
                    do_sample=True,
                    temperature=args.temperature,
                    top_p=args.top_p,
                    max_new_tokens=args.max_new_tokens,
                    min_new_tokens=args.max_new_tokens,
                    num_return_sequences=min(batch_size, args.n - start),
                    pad_token_id=tokenizer.eos_token_id,
                )

    reference = timed(generate)
    same = sum(a.text == b.text for a, b in zip(results["one"], results["batched"], strict=True))
    rows = [
        ("one sequence at a time", baseline),
        (f"batched, batch size {batch_size}", fast),
        (f"transformers generate, batch size {batch_size} (reference)", reference),
    ]
    for label, seconds in rows:
        print(f"{label:55s} {args.n / seconds:8.2f} samples/s  {baseline / seconds:6.2f}x  ({seconds:.2f} s)")
    print(f"identical samples one at a time and batched: {same}/{args.n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
