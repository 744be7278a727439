"""Generation with a tiny GPT-2 trained here: backends, the local OpenAI-compatible server, the CLI."""

from __future__ import annotations

import argparse
import json
import socket
import threading
import urllib.request
from collections import Counter

import pytest
import torch

from evaluation.benchmarks import CODEX_STOP_SEQUENCES, truncate
from evaluation.generation import (
    Completion,
    GenerationError,
    SamplingSettings,
    sample_seed,
)
from evaluation.generation import cli as generation_cli
from evaluation.generation.backends import load_backend
from evaluation.generation.openai_backend import OpenAICompatibleBackend
from evaluation.generation.server import CompletionsHandler, CompletionsServer
from evaluation.generation.server import main as server_main
from evaluation.generation.transformers_backend import (
    DRAWS_PER_STEP,
    TransformersBackend,
    _nucleus_threshold,
    choose_tokens,
    load_model,
)

PROMPT = "def add(a, b):\n"
OTHER_PROMPTS = (
    "class Stack:\n    def push(self, x):\n",
    'def maximum(values):\n    """Return the largest value."""\n',
)
SETTINGS = SamplingSettings(temperature=0.8, top_p=0.95, max_new_tokens=40)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """The tiny model runs faster on one thread, and far faster when other tests share the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir):
    return tiny_model_dir


@pytest.fixture(scope="module")
def backend(model_dir):
    return TransformersBackend.from_pretrained(str(model_dir), batch_size=4)


def with_batch_size(backend: TransformersBackend, batch_size: int) -> TransformersBackend:
    return TransformersBackend(backend.model, backend.tokenizer, batch_size=batch_size)


def forward_logprobs(backend: TransformersBackend, prompt: str, token_ids: tuple[int, ...]) -> list[float]:
    """Log-probabilities of `token_ids` after `prompt` from one plain forward pass, no cache, no batch."""
    prompt_ids = backend.encode(prompt)
    ids = torch.tensor([prompt_ids + list(token_ids)])
    with torch.no_grad():
        logits = backend.model(input_ids=ids).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    return [logprobs[len(prompt_ids) - 1 + i, token].item() for i, token in enumerate(token_ids)]


# --- settings, seeds, loading -----------------------------------------------------------------


def test_sample_seed_is_stable_and_distinct():
    assert sample_seed("run-1", "HumanEval/0", 0) == sample_seed("run-1", "HumanEval/0", 0)
    assert sample_seed("run-1", "HumanEval/0", 0) == 8687000327179879761
    seeds = {sample_seed(run, task, i) for run in ("a", "b") for task in ("T/0", "T/1") for i in range(50)}
    assert len(seeds) == 200
    assert all(0 <= seed < 2**63 for seed in seeds)


def test_settings_are_validated():
    assert SamplingSettings(stop=["\ndef"]).stop == ("\ndef",)
    assert SamplingSettings().stop == CODEX_STOP_SEQUENCES
    for bad in ({"temperature": -0.1}, {"top_p": 0.0}, {"top_p": 1.5}, {"max_new_tokens": 0}, {"stop": "\n"}):
        with pytest.raises(ValueError):
            SamplingSettings(**bad)


def test_completion_logprob_summaries():
    completion = Completion(text="x", token_logprobs=(-1.0, -2.0, -3.0), finish_reason="stop")
    assert completion.sum_logprob == -6.0
    assert completion.mean_logprob == -2.0
    empty = Completion(text="", token_logprobs=(), finish_reason="stop")
    assert (empty.sum_logprob, empty.mean_logprob) == (0.0, 0.0)


def test_model_is_loaded_once_per_process_and_key(model_dir, backend):
    assert load_model(str(model_dir))[0] is backend.model
    assert TransformersBackend.from_pretrained(str(model_dir)).model is backend.model
    assert backend.model.dtype == torch.float32 and backend.device.type == "cpu"
    half = load_model(str(model_dir), dtype="bfloat16")[0]
    assert half is not backend.model and half.dtype == torch.bfloat16


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(GenerationError, match="cannot load model"):
        TransformersBackend.from_pretrained(str(tmp_path / "nothing-here"))


# --- the transformers backend -------------------------------------------------------------------


def test_stop_sequences_cut_each_row_exactly_where_its_own_stop_begins(backend):
    seeds = list(range(12))
    cut = backend.sample(PROMPT, SETTINGS, seeds)
    raw = backend.sample(
        PROMPT, SamplingSettings(temperature=0.8, top_p=0.95, max_new_tokens=40, stop=()), seeds
    )
    stopped = 0
    for short, long in zip(cut, raw, strict=True):
        assert short.text == truncate(long.text, SETTINGS.stop)
        assert not any(stop in short.text for stop in SETTINGS.stop)
        assert long.token_ids[: len(short.token_ids)] == short.token_ids
        if short.finish_reason == "stop" and len(short.text) < len(long.text):
            stopped += 1
            assert any(long.text[len(short.text) :].startswith(stop) for stop in SETTINGS.stop)
    assert stopped >= 6, "the tiny model should write a stop sequence in most samples"
    assert len({len(c.text) for c in cut if c.finish_reason == "stop"}) > 1, "rows stop at different points"


def test_finished_rows_leave_the_batch(backend):
    rows_per_forward: list[int] = []
    hook = backend.model.register_forward_pre_hook(
        lambda module, args, kwargs: rows_per_forward.append(kwargs["input_ids"].shape[0]), with_kwargs=True
    )
    try:
        completions = with_batch_size(backend, 12).sample(PROMPT, SETTINGS, list(range(12)))
    finally:
        hook.remove()
    lengths = sorted(len(c.token_ids) for c in completions)
    assert rows_per_forward[0] == 1, "one prefill for the shared prompt"
    assert rows_per_forward[1] == 12
    assert rows_per_forward[-1] < 12
    assert sum(rows_per_forward[1:]) < 12 * (max(lengths) - 1), "finished rows cost no more forward work"
    assert rows_per_forward[1:] == sorted(rows_per_forward[1:], reverse=True)


def test_same_seed_same_sample_whatever_the_batch(backend):
    seeds = [sample_seed("run", "task", i) for i in range(8)]
    reference = with_batch_size(backend, 8).sample(PROMPT, SETTINGS, seeds)
    assert with_batch_size(backend, 8).sample(PROMPT, SETTINGS, seeds) == reference, (
        "a retried chunk, bit for bit"
    )
    for batch_size in (1, 3):
        again = with_batch_size(backend, batch_size).sample(PROMPT, SETTINGS, seeds)
        assert [c.text for c in again] == [c.text for c in reference]
        assert [c.token_ids for c in again] == [c.token_ids for c in reference]
        for a, b in zip(again, reference, strict=True):
            assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-4)
    mixed = backend.sample_many([OTHER_PROMPTS[0], PROMPT, OTHER_PROMPTS[1]], SETTINGS, [9, seeds[5], 7])
    assert mixed[1].text == reference[5].text, "other prompts in the batch (left padding) change nothing"
    retried = backend.sample(PROMPT, SETTINGS, list(reversed(seeds)))
    assert [c.text for c in retried] == [c.text for c in reversed(reference)]


def test_different_seeds_give_different_samples(backend):
    texts = [c.text for c in backend.sample(PROMPT, SETTINGS, list(range(16)))]
    assert len(set(texts)) >= 4


def test_logprobs_are_those_of_a_separate_forward_pass_over_the_kept_tokens(backend):
    prompts = [PROMPT, *OTHER_PROMPTS, PROMPT]
    completions = backend.sample_many(prompts, SETTINGS, [1, 2, 3, 4])
    for prompt, completion in zip(prompts, completions, strict=True):
        assert len(completion.token_logprobs) == len(completion.token_ids)
        expected = forward_logprobs(backend, prompt, completion.token_ids)
        assert list(completion.token_logprobs) == pytest.approx(expected, abs=1e-4)
        prompt_ids = backend.encode(prompt)
        assert backend.completion_text(prompt_ids, completion.token_ids).startswith(completion.text)
        if completion.token_ids:
            shorter = backend.completion_text(prompt_ids, completion.token_ids[:-1])
            assert not shorter.startswith(completion.text), (
                "the kept tokens are the fewest that cover the text"
            )


def test_greedy_matches_transformers_generate_with_left_padding(backend):
    prompts = [PROMPT, *OTHER_PROMPTS]
    settings = SamplingSettings(temperature=0, max_new_tokens=25, stop=())
    completions = backend.sample_many(prompts, settings, [1, 2, 3])
    for prompt, completion in zip(prompts, completions, strict=True):
        ids = torch.tensor([backend.encode(prompt)])
        expected = backend.model.generate(
            ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=25, pad_token_id=0
        )[0, ids.shape[1] :]
        assert completion.token_ids == tuple(expected.tolist())[: len(completion.token_ids)]
        assert completion.text == backend.decode(expected.tolist())
    assert backend.sample(PROMPT, settings, [5, 6]) == backend.sample(PROMPT, settings, [7, 8])


@pytest.mark.parametrize("temperature, top_p", [(0.7, 0.9), (1.5, 0.4), (1.0, 1.0)])
def test_first_tokens_follow_the_nucleus_distribution(backend, temperature, top_p):
    settings = SamplingSettings(temperature=temperature, top_p=top_p, max_new_tokens=1, stop=())
    draws = 3000
    prompt = "    "
    completions = with_batch_size(backend, draws).sample(prompt, settings, list(range(draws)))
    counts = Counter(c.token_ids[0] for c in completions)
    with torch.no_grad():
        logits = backend.model(input_ids=torch.tensor([backend.encode(prompt)])).logits[0, -1]
    probs = torch.softmax(logits / settings.temperature, dim=-1)
    ordered, order = probs.sort(descending=True)
    size = int(((ordered.cumsum(0) - ordered) < settings.top_p).sum())
    nucleus = {
        int(token): float(p) / float(ordered[:size].sum())
        for token, p in zip(order[:size], ordered[:size], strict=True)
    }
    assert size >= 2, "the test needs a prompt with several likely next tokens"
    assert set(counts) <= set(nucleus), "nothing outside the nucleus"
    for token, p in nucleus.items():
        assert counts[token] / draws == pytest.approx(p, abs=0.03)


def test_nucleus_threshold_is_that_of_a_full_sort_whatever_the_other_rows():
    """Rows of nuclei from one token to nearly the whole vocabulary, searched together or alone."""
    generator = torch.Generator().manual_seed(0)
    spread = torch.tensor([[12.0], [6.0], [3.0], [1.0], [0.05], [8.0]])
    probs = torch.softmax(torch.randn(6, 5000, generator=generator) * spread, dim=-1)
    sizes: set[int] = set()
    for top_p in (0.3, 0.95, 1.0):
        ordered = probs.sort(dim=-1, descending=True).values
        size = ((ordered.cumsum(dim=-1) - ordered) < top_p).sum(dim=-1, keepdim=True)
        sizes.update(size[:, 0].tolist())
        expected = ordered.gather(-1, size - 1)
        assert torch.equal(_nucleus_threshold(probs, top_p), expected)
        for row in range(len(probs)):
            assert torch.equal(_nucleus_threshold(probs[row : row + 1], top_p), expected[row : row + 1])
    assert min(sizes) == 1 and max(sizes) > 4096, "nuclei found at every k, up to the full sort"


def test_a_narrow_nucleus_is_respected_when_every_candidate_is_rejected():
    logits = torch.zeros(200, 50)
    logits[:, 7] = 0.5  # the most likely token holds only ~3% of the mass: most candidates fall outside
    uniforms = torch.rand(200, DRAWS_PER_STEP, generator=torch.Generator().manual_seed(0))
    chosen, logprobs = choose_tokens(logits, uniforms, SamplingSettings(temperature=1.0, top_p=0.01))
    assert chosen.tolist() == [7] * 200
    assert logprobs.tolist() == pytest.approx([torch.log_softmax(logits[0], -1)[7].item()] * 200)
    spread, _ = choose_tokens(logits, uniforms, SamplingSettings(temperature=1.0, top_p=1.0))
    assert len(set(spread.tolist())) > 30


def test_out_of_memory_halves_the_batch_and_gives_the_same_samples(backend):
    """Fault injection: CPU cannot run out of GPU memory, so a hook raises the error torch raises."""
    seeds = list(range(8))
    expected = with_batch_size(backend, 8).sample(PROMPT, SETTINGS, seeds)

    def refuse_big_batches(module, args, kwargs):
        if kwargs["input_ids"].shape[0] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (injected)")

    small = with_batch_size(backend, 8)
    hook = backend.model.register_forward_pre_hook(refuse_big_batches, with_kwargs=True)
    try:
        completions = small.sample_many([PROMPT, *OTHER_PROMPTS] * 2 + [PROMPT] * 2, SETTINGS, seeds)
        again = small.sample(PROMPT, SETTINGS, seeds)
    finally:
        hook.remove()
    assert small.batch_size == 2
    assert len(completions) == 8
    assert [c.text for c in again] == [c.text for c in expected]


def test_a_prompt_longer_than_the_context_is_refused(backend):
    with pytest.raises(ValueError, match="no room"):
        backend.sample("x" * 5000, SETTINGS, [1])


def test_an_empty_prompt_starts_from_the_beginning_of_text(backend):
    completions = backend.sample("", SETTINGS, [1, 2])
    assert all(c.text and c.token_logprobs for c in completions)
    assert completions[0].token_logprobs == pytest.approx(
        forward_logprobs(backend, "", completions[0].token_ids), abs=1e-4
    )


def test_end_of_text_finishes_a_sample(backend):
    prompt = "def square(x):\n    return x * x\n\n\n# helpers end here\n"
    completions = backend.sample(prompt, SamplingSettings(max_new_tokens=20, stop=()), list(range(8)))
    ended = [c for c in completions if c.finish_reason == "stop"]
    assert ended, "the tiny model learned to end the corpus with <|endoftext|>"
    eos = backend.tokenizer.eos_token_id
    assert all(eos not in c.token_ids and len(c.token_ids) < 20 for c in ended)


# --- the OpenAI-compatible backend against our server --------------------------------------------


class FlakyHandler(CompletionsHandler):
    """Answers 503 to the first `failures` completion requests, like a server that is starting."""

    failures = 2
    seen = 0

    def do_POST(self):
        FlakyHandler.seen += 1
        if FlakyHandler.seen <= FlakyHandler.failures:
            self._error(503, "warming up")
            return
        super().do_POST()


@pytest.fixture
def serve(backend):
    servers: list[CompletionsServer] = []

    def start(handler=None) -> CompletionsServer:
        server = CompletionsServer(("127.0.0.1", 0), backend, model_name="tiny", handler=handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_http_backend_gives_the_transformers_backend_samples(backend, serve):
    server = serve()
    http = OpenAICompatibleBackend(server.url, model="tiny", concurrency=4)
    seeds = [sample_seed("run", "HumanEval/0", i) for i in range(6)]
    over_http = http.sample(PROMPT, SETTINGS, seeds)
    direct = backend.sample(PROMPT, SETTINGS, seeds)
    assert [c.text for c in over_http] == [c.text for c in direct]
    assert [c.finish_reason for c in over_http] == [c.finish_reason for c in direct]
    for a, b in zip(over_http, direct, strict=True):
        assert a.token_logprobs == pytest.approx(b.token_logprobs, abs=1e-4)
        assert a.mean_logprob == pytest.approx(b.mean_logprob, abs=1e-4)
    assert isinstance(load_backend(f"openai:{server.url}#tiny"), OpenAICompatibleBackend)
    assert load_backend(f"openai:{server.url}").sample(PROMPT, SETTINGS, seeds[:1])[0].text == direct[0].text


def test_server_speaks_the_completions_protocol(backend, serve):
    server = serve()
    http = OpenAICompatibleBackend(server.url)
    body = {"prompt": PROMPT, "max_tokens": 30, "temperature": 0.8, "top_p": 0.95, "n": 3, "seed": 11}
    reply = http.post("/completions", {**body, "stop": ["\ndef"], "logprobs": 1})
    assert reply["object"] == "text_completion" and len(reply["choices"]) == 3
    direct = backend.sample(PROMPT, SamplingSettings(0.8, 0.95, 30, ("\ndef",)), [11, 12, 13])
    for choice, completion in zip(reply["choices"], direct, strict=True):
        assert choice["text"] == completion.text
        logprobs = choice["logprobs"]
        assert logprobs["text_offset"][:1] in ([], [len(PROMPT)])
        assert "".join(logprobs["tokens"]).startswith(choice["text"])
        assert len(logprobs["tokens"]) == len(logprobs["token_logprobs"]) == len(logprobs["text_offset"])
    assert http.post("/completions", body)["choices"][0]["logprobs"] is None
    with urllib.request.urlopen(f"{server.url}/models") as response:
        assert json.load(response)["data"][0]["id"] == "tiny"
    with pytest.raises(GenerationError, match="HTTP 404"):
        http.post("/chat/completions", body)
    with pytest.raises(GenerationError, match="HTTP 400: prompt must be"):
        http.post("/completions", {"prompt": 3})


def test_server_command_refuses_a_missing_model(tmp_path, capsys):
    assert server_main(["--model", str(tmp_path / "missing"), "--port", "0"]) == 1
    assert "error: cannot load model" in capsys.readouterr().err


def test_http_backend_retries_transient_errors(serve):
    FlakyHandler.seen = 0
    server = serve(FlakyHandler)
    http = OpenAICompatibleBackend(server.url, backoff=0.01, max_retries=3)
    assert http.sample(PROMPT, SETTINGS, [1])[0].finish_reason in ("stop", "length")
    assert FlakyHandler.seen == 3


def test_http_backend_reports_bad_requests_and_dead_servers(serve):
    server = serve()
    http = OpenAICompatibleBackend(server.url, backoff=0.01, max_retries=1)
    with pytest.raises(GenerationError, match="HTTP 400: .*no room"):
        http.sample("x" * 5000, SETTINGS, [1])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = OpenAICompatibleBackend(f"http://127.0.0.1:{port}/v1", backoff=0.01, max_retries=1)
    with pytest.raises(GenerationError, match=str(port)):
        dead.sample(PROMPT, SETTINGS, [1])


# --- the CLI -------------------------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    generation_cli.add_arguments(parser)
    return parser.parse_args(argv)


def test_cli_writes_one_json_line_per_sample(model_dir, tmp_path, capsys):
    from evaluation.benchmarks import humaneval
    from evaluation.samples import read_samples

    common = ["--model", str(model_dir), "--n", "3", "--temperature", "0.8", "--max-new-tokens", "12"]
    out = tmp_path / "samples.jsonl"
    assert generation_cli.run(parse(*common, "--limit", "2", "--batch-size", "4", "--out", str(out))) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["task_id"] for row in rows] == ["HumanEval/0"] * 3 + ["HumanEval/1"] * 3
    assert all(set(row) == {"task_id", "completion", "mean_logprob", "sum_logprob"} for row in rows)
    assert all(row["sum_logprob"] <= row["mean_logprob"] <= 0 for row in rows)
    records = read_samples(out, humaneval.load(), allow_missing=True)
    assert [(r.task_id, r.index, r.completion) for r in records] == [
        (row["task_id"], i % 3, row["completion"]) for i, row in enumerate(rows)
    ]
    capsys.readouterr()
    assert generation_cli.run(parse(*common, "--limit", "1", "--batch-size", "1")) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["completion"] for row in printed] == [row["completion"] for row in rows[:3]], (
        "stdout output, and the same samples whatever the batch size and limit"
    )
    for again, first in zip(printed, rows, strict=False):
        assert again["sum_logprob"] == pytest.approx(first["sum_logprob"], abs=1e-4)


def test_cli_bad_model_is_a_message_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "samples.jsonl"
    code = generation_cli.run(
        parse("--model", str(tmp_path / "missing"), "--n", "1", "--temperature", "0", "--out", str(out))
    )
    assert code == 1
    assert "error: cannot load model" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_scoring_a_text_is_one_forward_pass_whatever_the_batch(backend):
    texts = ["    return a + b\n", "    return a - b  # a longer continuation\n", " pass"]
    pairs = [(PROMPT, text) for text in texts] + [(OTHER_PROMPTS[0], texts[0])]
    scored = with_batch_size(backend, 3).score(pairs)
    assert scored == pytest.approx(with_batch_size(backend, 1).score(pairs), abs=1e-4)
    for (prompt, text), score in zip(pairs, scored, strict=True):
        ids = tuple(backend.tokenizer(text, add_special_tokens=False)["input_ids"])
        assert score == pytest.approx(sum(forward_logprobs(backend, prompt, ids)), abs=1e-4)
        assert score < 0
