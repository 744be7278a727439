"""Reading sample files: openai/human-eval's one row per sample, or one row per problem.

Every problem in the file is matched to a benchmark problem, every line is checked, and the first
problem found raises `SampleFileError` naming the line, so a caller can import all or nothing.
"""

from __future__ import annotations

import difflib
import gzip
import io
import json
import zlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from evaluation.benchmarks import Benchmark, Problem, truncate
from evaluation.benchmarks.humaneval import entry_point_of_prompt

# Real sample sets the project ships, each beside its licence (see README.md there).
SHIPPED = Path(__file__).resolve().parent / "data" / "samples"
# A gzip file is read a chunk at a time and refused past this size once decompressed: a small
# upload must not become gigabytes in memory.
MAX_DECOMPRESSED_BYTES = 512 * 1024 * 1024
CHUNK_BYTES = 1024 * 1024


class SampleFileError(ValueError):
    """A sample file that cannot be imported; the message names the line where it can."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class SampleRecord:
    task_id: str
    index: int
    completion: str
    mean_logprob: float | None = None
    sum_logprob: float | None = None


def _gunzip(data: bytes, limit: int) -> bytearray:
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(CHUNK_BYTES):
                if len(out) + len(chunk) > limit:
                    raise SampleFileError(f"the file is larger than {limit // 2**20} MB once decompressed")
                out += chunk
    except (OSError, EOFError, zlib.error) as error:
        raise SampleFileError(f"the gzip file is corrupt: {error}") from None
    return out


def _decode_lines(data: bytes, limit: int | None = None) -> list[tuple[int, str]]:
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, MAX_DECOMPRESSED_BYTES if limit is None else limit)
    lines = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise SampleFileError(
                f"not valid UTF-8 (byte {error.start}); save the file as UTF-8", number
            ) from None
        if text.strip():
            lines.append((number, text))
    return lines


def _number(row: dict, key: str, line: int) -> float | None:
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SampleFileError(f"{key!r} must be a number, got {value!r}", line)
    try:
        return float(value)
    except OverflowError:
        raise SampleFileError(f"{key!r} is too large a number", line) from None


class _Matcher:
    """Finds a row's problem: by task id, by exact prompt, or by the function the prompt defines."""

    def __init__(self, benchmark: Benchmark):
        self.by_id = benchmark.by_task_id()
        self.by_prompt = {p.prompt: p for p in benchmark.problems}
        self.by_entry: dict[str, list[Problem]] = defaultdict(list)
        for problem in benchmark.problems:
            self.by_entry[problem.entry_point].append(problem)

    def __call__(self, row: dict, line: int) -> Problem:
        if "task_id" in row:
            task_id = row["task_id"]
            if not isinstance(task_id, str | int) or str(task_id) not in self.by_id:
                raise SampleFileError(f"unknown task id {task_id!r}", line)
            return self.by_id[str(task_id)]
        prompt = row.get("prompt")
        if not isinstance(prompt, str):
            raise SampleFileError("a row needs 'task_id' or 'prompt'", line)
        if prompt in self.by_prompt:
            return self.by_prompt[prompt]
        # Prompts edited by another harness (docstring examples removed): match the function defined,
        # and among problems defining a function of the same name, the most similar prompt.
        candidates = self.by_entry.get(entry_point_of_prompt(prompt) or "", [])
        if not candidates:
            raise SampleFileError("the prompt matches no problem of the benchmark", line)
        return max(
            candidates,
            key=lambda p: difflib.SequenceMatcher(None, p.prompt, prompt).ratio(),
        )


def _completion(item: object, line: int) -> tuple[str, float | None, float | None]:
    if isinstance(item, str):
        return item, None, None
    if isinstance(item, dict) and isinstance(item.get("completion"), str):
        return (
            item["completion"],
            _number(item, "mean_logprob", line),
            _number(item, "sum_logprob", line),
        )
    raise SampleFileError("each sample must be a string or an object with a 'completion' string", line)


def parse_samples(
    data: bytes,
    benchmark: Benchmark,
    *,
    stop_sequences: tuple[str, ...] | None = None,
    allow_missing: bool = False,
    max_bytes: int | None = None,
) -> list[SampleRecord]:
    """Parse a JSONL sample file (plain or gzip, at most `max_bytes` decompressed, by default
    MAX_DECOMPRESSED_BYTES) into records, or raise SampleFileError."""
    match = _Matcher(benchmark)
    records: list[SampleRecord] = []
    counts: dict[str, int] = defaultdict(int)
    row_per_problem_lines: dict[str, int] = {}
    for line, text in _decode_lines(data, max_bytes):
        try:
            row = json.loads(text)
        except json.JSONDecodeError as error:
            raise SampleFileError(f"malformed JSON ({error.msg} at column {error.colno})", line) from None
        except RecursionError:
            raise SampleFileError("JSON nested too deeply", line) from None
        except ValueError as error:  # an integer of more digits than Python converts
            raise SampleFileError(f"malformed JSON ({error})", line) from None
        if not isinstance(row, dict):
            raise SampleFileError("each line must be a JSON object", line)
        problem = match(row, line)
        if "samples" in row:
            if not isinstance(row["samples"], list):
                raise SampleFileError("'samples' must be a list", line)
            if problem.task_id in row_per_problem_lines:
                raise SampleFileError(
                    f"{problem.task_id} already given on line {row_per_problem_lines[problem.task_id]}",
                    line,
                )
            row_per_problem_lines[problem.task_id] = line
            items = [_completion(item, line) for item in row["samples"]]
        elif "completion" in row:
            items = [_completion(row, line)]
        else:
            raise SampleFileError("a row needs 'completion' or 'samples'", line)
        for completion, mean_logprob, sum_logprob in items:
            if stop_sequences:
                completion = truncate(completion, stop_sequences)
            records.append(
                SampleRecord(
                    problem.task_id,
                    counts[problem.task_id],
                    completion,
                    mean_logprob,
                    sum_logprob,
                )
            )
            counts[problem.task_id] += 1
    if not records:
        raise SampleFileError("the file holds no samples")
    missing = [p.task_id for p in benchmark.problems if counts[p.task_id] == 0]
    if missing and not allow_missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise SampleFileError(f"no samples for {len(missing)} problems of {benchmark.name}: {shown}")
    return records


def read_samples(path: str | Path, benchmark: Benchmark, **options) -> list[SampleRecord]:
    return parse_samples(Path(path).read_bytes(), benchmark, **options)
