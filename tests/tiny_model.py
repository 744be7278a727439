"""A tiny GPT-2-style model and byte-level BPE tokenizer, built locally for generation tests.

No hub access: the tokenizer is trained with `tokenizers` on a little Python text, the model is
built from a `GPT2Config` and trained for a few steps on the same text (so that it writes
function after function and therefore emits stop sequences such as "\\ndef"), and both are saved
with `save_pretrained` so that tests load them through the real `from_pretrained` path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

EOS = "<|endoftext|>"

CORPUS: tuple[str, ...] = (
    'def add(a, b):\n    """Return the sum of a and b."""\n    return a + b\n\n\n'
    'def sub(a, b):\n    """Return a minus b."""\n    return a - b\n\n\n'
    "def is_even(n):\n    # even numbers have no remainder\n    return n % 2 == 0\n\n\n",
    "def count(items, x):\n    total = 0\n    for item in items:\n        if item == x:\n"
    "            total += 1\n    return total\n\n\n"
    "def first(items):\n    if not items:\n        return None\n    return items[0]\n\n\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n"
    "    def push(self, x):\n        self.items.append(x)\n\n\n"
    'if __name__ == "__main__":\n    print(add(1, 2))\n',
    'def maximum(values):\n    """Return the largest value."""\n    best = values[0]\n'
    "    for v in values:\n        if v > best:\n            best = v\n    return best\n\n\n"
    "def square(x):\n    return x * x\n\n\n# helpers end here\n",
)


def build_tokenizer(texts: Sequence[str] = CORPUS, vocab_size: int = 400) -> PreTrainedTokenizerFast:
    """A GPT-2-like byte-level BPE: every string round-trips, and merges give multi-character tokens."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, bos_token=EOS, unk_token=EOS)


def build_tiny_model(
    folder: str | Path,
    *,
    n_layer: int = 2,
    n_embd: int = 64,
    n_positions: int = 2048,
    train_steps: int = 150,
    seed: int = 0,
) -> Path:
    """Save a tiny trained GPT-2 and its tokenizer into `folder`; returns the folder."""
    folder = Path(folder)
    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=n_positions,
        n_embd=n_embd,
        n_layer=n_layer,
        n_head=2,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = GPT2LMHeadModel(config)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small only loses time to threads on a busy machine
    try:
        if train_steps:
            _train(model, tokenizer, train_steps)
    finally:
        torch.set_num_threads(threads)
    model.eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _train(model: GPT2LMHeadModel, tokenizer: PreTrainedTokenizerFast, steps: int) -> None:
    """A few steps of next-token training on the corpus, enough to make stop sequences likely."""
    ids = tokenizer("".join(CORPUS) + EOS)["input_ids"]
    data = torch.tensor(ids * 2)
    window = 64
    starts = list(range(0, len(ids), 16))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for step in range(steps):
        batch = torch.stack([data[s : s + window] for s in starts[step % 4 :: 4]])
        loss = model(input_ids=batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
