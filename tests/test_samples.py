import gzip
import json
from collections import Counter

import pytest

from evaluation.benchmarks import CODEX_STOP_SEQUENCES, humaneval, truncate
from evaluation.samples import SampleFileError, parse_samples


@pytest.fixture(scope="module")
def problems():
    """HumanEval as the core reads it (no database)."""
    return humaneval.load()


def lines(*rows) -> bytes:
    return "\n".join(row if isinstance(row, str) else json.dumps(row) for row in rows).encode()


def full_file(problems, per_problem=2):
    return lines(
        *[
            {"task_id": p.task_id, "completion": p.canonical_solution}
            for p in problems.problems
            for _ in range(per_problem)
        ]
    )


def test_truncate_cuts_at_the_earliest_stop_sequence():
    text = "    return 1\n\nif __name__:\n    pass\ndef g():\n"
    assert truncate(text, CODEX_STOP_SEQUENCES) == "    return 1\n"
    assert truncate("    return x\n", CODEX_STOP_SEQUENCES) == "    return x\n"
    assert truncate("    x = 1\n    # comment\n#top", CODEX_STOP_SEQUENCES) == "    x = 1\n    # comment"


def test_sample_per_row_format_numbers_samples_in_file_order(problems):
    records = parse_samples(full_file(problems), problems)
    assert len(records) == 328
    first = [r for r in records if r.task_id == "HumanEval/0"]
    assert [r.index for r in first] == [0, 1]


def test_row_per_problem_format_by_task_id_or_prompt(problems):
    rows = []
    for position, p in enumerate(problems.problems):
        key = {"task_id": p.task_id} if position % 2 else {"prompt": p.prompt}
        rows.append(
            {**key, "samples": ["    pass\n", {"completion": "    return 1\n\ndef x", "mean_logprob": -0.5}]}
        )
    records = parse_samples(lines(*rows), problems, stop_sequences=CODEX_STOP_SEQUENCES)
    assert len(records) == 328
    assert records[1].completion == "    return 1\n" and records[1].mean_logprob == -0.5


def test_gzip_files_are_read(problems):
    assert len(parse_samples(gzip.compress(full_file(problems, 1)), problems)) == 164


@pytest.mark.parametrize(
    "bad_line,message",
    [
        ("{not json", "line 3: malformed JSON"),
        ('["a list"]', "line 3: each line must be a JSON object"),
        ('{"task_id": "HumanEval/999", "completion": "x"}', "line 3: unknown task id 'HumanEval/999'"),
        ('{"task_id": "HumanEval/1"}', "line 3: a row needs 'completion' or 'samples'"),
        ('{"completion": "x"}', "line 3: a row needs 'task_id' or 'prompt'"),
        ('{"prompt": "def nowhere():\\n", "samples": []}', "line 3: the prompt matches no problem"),
        ('{"task_id": "HumanEval/1", "completion": 5}', "line 3: each sample must be a string"),
    ],
)
def test_errors_name_the_line(problems, bad_line, message):
    data = full_file(problems, 1).split(b"\n")
    data.insert(2, bad_line.encode())
    with pytest.raises(SampleFileError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_samples(b"\n".join(data), problems)


def test_wrong_encoding_names_the_line(problems):
    data = full_file(problems, 1) + b'\n{"task_id": "HumanEval/0", "completion": "caf\xe9"}'
    with pytest.raises(SampleFileError, match="line 165: not valid UTF-8"):
        parse_samples(data, problems)


def test_missing_problems_are_refused_unless_allowed(problems):
    data = lines(*[{"task_id": p.task_id, "completion": "x"} for p in problems.problems[:-3]])
    with pytest.raises(SampleFileError, match="no samples for 3 problems of humaneval: HumanEval/161"):
        parse_samples(data, problems)
    assert len(parse_samples(data, problems, allow_missing=True)) == 161


def test_empty_and_duplicate_problem_rows(problems):
    with pytest.raises(SampleFileError, match="holds no samples"):
        parse_samples(b"\n\n", problems)
    row = {"task_id": "HumanEval/0", "samples": ["x"]}
    with pytest.raises(SampleFileError, match="line 2: HumanEval/0 already given on line 1"):
        parse_samples(lines(row, row), problems, allow_missing=True)


def test_codegen_file_matches_every_problem_by_its_function(problems, shared_data):
    path = shared_data / "samples" / "humaneval_codegen16b_t0.8_n100_raw.jsonl.gz"
    records = parse_samples(path.read_bytes(), problems, stop_sequences=CODEX_STOP_SEQUENCES)
    assert len(records) == 16_400
    assert {r.task_id for r in records} == {p.task_id for p in problems.problems}
    # Two rows matched to one problem would be refused, so 100 samples each means a one-to-one match,
    # also for the six function names that two problems share (add, solve, sort_array, ...).
    assert set(Counter(r.task_id for r in records).values()) == {100}
