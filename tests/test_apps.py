"""APPS core: loaders, comparison rules, example parser, prompts, judging and filtered pass@k."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

import pytest

from evaluation.benchmarks import apps
from evaluation.benchmarks.apps import judging, loading
from evaluation.benchmarks.apps.checker import returned_matches, stdout_matches
from evaluation.benchmarks.apps.examples import parse_examples
from evaluation.benchmarks.contract import JudgedSample
from evaluation.metrics import filtered_pass_at_k, pass_at_k

QUESTION = """Sum two numbers.

-----Input-----

Two integers a and b.

-----Output-----

Print a + b.

-----Examples-----
Input
1 2

Output
3

Input
10 -4

Output
6

-----Note-----

Nothing to add.
"""


def record(
    problem_id, *, inputs, outputs, fn_name=None, question=QUESTION, difficulty="introductory", **extra
):
    """A row in the Hugging Face APPS layout."""
    tests = {"inputs": inputs, "outputs": outputs}
    if fn_name:
        tests["fn_name"] = fn_name
    return {
        "problem_id": problem_id,
        "question": question,
        "solutions": json.dumps(["a, b = map(int, input().split())\nprint(a + b)\n"]),
        "input_output": json.dumps(tests),
        "difficulty": difficulty,
        "url": "https://example.org/problem",
        "starter_code": extra.get("starter_code", ""),
    }


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def sandbox():
    from evaluation.sandbox import Sandbox

    with Sandbox(workers=2) as box:
        yield box


# --- loading ---------------------------------------------------------------------------------------


def test_problems_without_usable_tests_are_reported_and_left_out(tmp_path):
    rows = [
        record(1, inputs=["1 2\n"], outputs=["3\n"]),
        {**record(2, inputs=[], outputs=[]), "input_output": ""},
        {**record(3, inputs=[], outputs=[]), "input_output": "{not json"},
        record(4, inputs=["1 2\n", "3 4\n"], outputs=["3\n"]),
        record(5, inputs=[], outputs=[]),
        record(6, inputs=[5], outputs=["5\n"]),
        record(1, inputs=["5 5\n"], outputs=["10\n"]),
    ]
    loaded = apps.read(write_jsonl(tmp_path / "apps.jsonl", rows))
    assert [p.task_id for p in loaded.benchmark.problems] == ["1"]
    reasons = {s.task_id: s.reason for s in loaded.skipped}
    assert reasons["2"] == "no tests (input_output is empty)"
    assert reasons["3"].startswith("input_output is not JSON")
    assert reasons["4"] == "2 test inputs but 1 outputs"
    assert reasons["5"] == "no tests"
    assert reasons["6"] == "a standard-input test whose input or output is not text"
    assert "repeats an earlier problem" in reasons["1"]


def test_malformed_files_get_a_clear_error(tmp_path):
    with pytest.raises(apps.AppsDataError, match="difficulty 'easy' is not one of"):
        apps.read(
            write_jsonl(tmp_path / "a.jsonl", [record(1, inputs=["1\n"], outputs=["1\n"], difficulty="easy")])
        )
    (tmp_path / "b.jsonl").write_text("this is not json\n")
    with pytest.raises(apps.AppsDataError, match="not a JSON-lines file"):
        apps.read(tmp_path / "b.jsonl")
    with pytest.raises(
        apps.AppsDataError,
        match="line 1: not an APPS hf record: missing question, solutions, input_output, difficulty",
    ):
        apps.read(write_jsonl(tmp_path / "c.jsonl", [{"problem_id": 1}]))
    with pytest.raises(apps.AppsDataError, match="no such file"):
        apps.read(tmp_path / "missing.jsonl")


def test_version_is_a_content_hash_and_lists_are_joined_as_the_reference_does(tmp_path):
    rows = [record(7, inputs=[["1 2", ""]], outputs=[["3", ""]])]
    first = apps.load(write_jsonl(tmp_path / "a.jsonl", rows))
    with gzip.open(tmp_path / "c.jsonl.gz", "wt") as handle:
        handle.write(json.dumps(rows[0]) + "\n")
    zipped = apps.load(tmp_path / "c.jsonl.gz")
    assert zipped.version == first.version and first.name == "apps"
    assert json.loads(first.problems[0].test) == {"inputs": ["1 2\n"], "outputs": ["3\n"], "fn_name": ""}
    changed = apps.load(write_jsonl(tmp_path / "d.jsonl", [record(7, inputs=["1 2\n"], outputs=["4\n"])]))
    assert changed.version != first.version


def test_problem_fields(tmp_path):
    rows = [
        record(11, inputs=["1 2\n", "5 5\n"], outputs=["3\n", "10\n"], difficulty="competition"),
        record(
            12,
            question="Return x doubled.\n\nExamples:\n    double(2) # returns 4\n    double(-1) == -2\n",
            inputs=[[3], [0]],
            outputs=[[6], [0]],
            fn_name="double",
            starter_code="\ndef double(x):\n\t",
        ),
        record(
            13,
            question="No examples here.",
            inputs=["a\n", "b\n", "c\n", "d\n"],
            outputs=["A\n", "B\n", "C\n", "D\n"],
        ),
    ]
    problems = apps.load(write_jsonl(tmp_path / "a.jsonl", rows)).by_task_id()
    stdin, call, bare = problems["11"], problems["12"], problems["13"]
    assert stdin.metadata["difficulty"] == "competition" and stdin.entry_point == ""
    assert stdin.metadata["public_tests"] == {"inputs": ["1 2\n", "10 -4\n"], "outputs": ["3\n", "6\n"]}
    assert stdin.metadata["public_tests_source"] == "statement"
    assert stdin.canonical_solution.startswith("a, b = map(int")
    assert call.entry_point == "double" and call.metadata["fn_name"] == "double"
    assert call.metadata["public_tests"] == {"inputs": [[2], [-1]], "outputs": [4, -2]}
    assert bare.metadata["public_tests_source"] == "first-hidden-tests"
    assert bare.metadata["public_tests"] == {
        "inputs": ["a\n", "b\n", "c\n"],
        "outputs": ["A\n", "B\n", "C\n"],
    }


def test_folder_layout_gives_the_same_problems_as_the_records(tmp_path, shared_data):
    source = shared_data / "apps" / "codechain_train150.jsonl"
    rows = [json.loads(line) for line in source.read_text().splitlines()]
    chosen = [row for row in rows if row["problem_id"] in (0, 2000, 2361, 2403)]
    split = tmp_path / "APPS" / "test"
    for row in chosen:
        folder = split / f"{int(row['problem_id']):04d}"
        folder.mkdir(parents=True)
        (folder / "question.txt").write_text(row["question"])
        (folder / "input_output.json").write_text(row["input_output"])
        (folder / "solutions.json").write_text(row["solutions"])
        (folder / "metadata.json").write_text(
            json.dumps({"difficulty": row["difficulty"], "url": row["url"]})
        )
        if row["starter_code"]:
            (folder / "starter_code.py").write_text(row["starter_code"])
    (split / "4999").mkdir()
    (split / "4999" / "question.txt").write_text("A problem whose tests were never published.")
    (split / "4999" / "metadata.json").write_text(json.dumps({"difficulty": "interview"}))

    from_folder = apps.read(tmp_path / "APPS")
    from_records = apps.load(write_jsonl(tmp_path / "chosen.jsonl", chosen))
    assert [(s.task_id, s.reason) for s in from_folder.skipped] == [
        ("4999", "no tests (input_output is empty)")
    ]

    def comparable(problem):
        metadata = {k: v for k, v in problem.metadata.items() if k != "layout"}
        return (
            problem.task_id,
            problem.prompt,
            problem.test,
            problem.entry_point,
            problem.canonical_solution,
            metadata,
        )

    assert [comparable(p) for p in from_folder.benchmark.problems] == [
        comparable(p) for p in from_records.problems
    ]
    assert from_folder.benchmark.problems[0].metadata["layout"] == "folder"
    with pytest.raises(apps.AppsDataError, match="no APPS problem folders"):
        apps.read(tmp_path / "APPS" / "test" / "0000")


def test_arrow_file_as_datasets_writes_it(tmp_path):
    pa = pytest.importorskip("pyarrow", reason="reading Arrow copies of APPS needs pyarrow")
    rows = [record(21, inputs=["1 2\n"], outputs=["3\n"]), record(22, inputs=["2 2\n"], outputs=["4\n"])]
    table = pa.Table.from_pylist(rows)
    path = tmp_path / "data-00000-of-00001.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    from_arrow = apps.load(tmp_path / "data-00000-of-00001.arrow")
    from_jsonl = apps.load(write_jsonl(tmp_path / "same.jsonl", rows))
    assert from_arrow.version == from_jsonl.version
    (tmp_path / "broken.arrow").write_bytes(b"not arrow at all")
    with pytest.raises(apps.AppsDataError, match="not an Arrow file"):
        apps.load(tmp_path / "broken.arrow")


def test_hub_without_datasets_says_what_to_do():
    import importlib.util

    if importlib.util.find_spec("datasets") is not None:
        pytest.skip("the datasets library is installed: the hub itself is not reached from tests")
    with pytest.raises(apps.AppsDataError, match="needs the `datasets` library"):
        apps.load()


def test_mapcoder_layout(shared_data):
    source = shared_data / "apps" / "mapcoder_train150.jsonl"
    loaded = apps.read(source)
    problems = loaded.benchmark.by_task_id()
    assert len(problems) == 128 and len(loaded.skipped) == 22
    assert all("repeats an earlier problem" in s.reason for s in loaded.skipped)
    score = problems["3554"]
    assert score.entry_point == "get_score" and score.metadata["args_reconstructed"]
    assert json.loads(score.test)["inputs"][:2] == [[[1]], [[5]]]
    assert json.loads(score.test)["outputs"][:2] == [[100], [50]]
    # a multi-line string argument followed by a list: the extra lines belong to the string
    markers = json.loads(problems["1613"].test)["inputs"][0]
    assert markers == ["apples, pears # and bananas\ngrapes\nbananas !apples", ["#", "!"]]
    assert json.loads(problems["3045"].test)["inputs"][0] == [0, 1, 0]
    assert problems["1604"].entry_point == "" and problems["1604"].metadata["difficulty"] == "interview"

    as_mapcoder_ran_it = apps.read(source, protocol="stdin")
    assert len(as_mapcoder_ran_it.benchmark.problems) == 68
    not_text = [s for s in as_mapcoder_ran_it.skipped if "not text" in s.reason]
    assert len(not_text) == 74
    drop_cap = as_mapcoder_ran_it.benchmark.by_task_id()["4724"]
    assert drop_cap.entry_point == "" and json.loads(drop_cap.test)["inputs"][0] == "Apple Banana"


def test_flattened_arguments_are_rebuilt_by_arity():
    rebuild = loading._mapcoder_arguments
    assert rebuild("abba\n['aabb', 'abcd']", ["word", "words"], 2) == ["abba", ["aabb", "abcd"]]
    assert rebuild("a b\nc\n[1, 2]", ["text", "n"], 2) == ["a b\nc", [1, 2]]
    assert rebuild("13", ["n", "decimals", "base"], 1) == [13]
    assert rebuild("", ["s"], 1) == [""]
    assert rebuild("1\n2\n3", ["a"], 1) == ["1\n2\n3"]
    assert loading._parameters(
        "\nclass Solution:\n    def f(self, a: List[int], k: int = 2) -> int:\n        ", "f"
    ) == (
        ["a", "k"],
        1,
    )


# --- comparison ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "got,expected,strict,reference",
    [
        ("3\n", "3\n", True, True),
        ("3   \n", "3\n", True, True),  # trailing spaces
        ("  3\n\n\n", "3", True, True),  # surrounding whitespace and extra blank lines at the end
        ("1\n\n2\n", "1\n2\n", True, True),  # a blank line between
        ("1\r\n2\r\n", "1\n2\n", True, True),  # CRLF
        ("1  2\n", "1 2\n", True, True),  # runs of spaces
        ("", "", True, True),  # empty output where none is expected
        ("", "3\n", False, False),  # empty output where some is expected
        ("\n\n", "3\n", False, False),
        ("3.0\n", "3\n", True, True),  # numbers written differently
        ("0.3333333\n", "0.333333333333\n", True, True),  # within numpy.allclose's tolerance
        ("0.5 0.33333\n", "0.5 0.3333333333\n", True, True),  # several numbers on a line
        ("0.3334\n", "0.3333\n", False, True),  # the reference rounds to 3 decimals
        ("1000001\n", "1000000\n", False, True),  # the reference's tolerance admits a wrong integer
        ("2 1\n", "1 2\n", False, True),  # the reference compares tokens as sets
        ("1 1 2\n", "1 2\n", False, True),
        ("b\na\n", "a\nb\n", False, True),  # and lines as sets
        ("1.2344 5\n", "1.2341 5\n", False, True),  # and rounds floats to 3 decimals
        ("YES\n", "Yes\n", False, False),  # case matters in both
        ("3\n4\n", "3\n", False, False),
    ],
)
def test_stdout_comparison(got, expected, strict, reference):
    assert stdout_matches(got, expected, "strict") is strict
    assert stdout_matches(got, expected, "reference") is reference
    assert stdout_matches(got, expected) is reference  # the reference checker's rules by default


def test_expected_output_as_a_list_of_lines():
    assert stdout_matches("1\n2\n", ["1", "2"]) and stdout_matches("1\n2\n", ["1", "2"], "reference")


@pytest.mark.parametrize(
    "got,expected,strict,reference",
    [
        (6, [6], True, True),  # APPS wraps return values in a one-element list
        (6, 6, True, True),  # LeetCode rows do not
        ((1, 2), [[1, 2]], True, True),  # tuples compare as lists
        ([(1, 2), (3, 4)], [[[1, 2], [3, 4]]], True, True),
        ([[(1, 2)]], [[[[1, 2]]]], True, False),  # nested deeper than the reference looks
        ([6], [6], True, True),  # ambiguous wrapping: accepted by both
        (2, [2, 5], False, True),  # the reference accepts the first element of any list
        ({1: "a"}, [{"1": "a"}], True, True),  # JSON's string keys turned back into integers
        ({"x": 1}, [{"x": 1}], True, True),
        (True, [1], True, True),  # Python equality: True == 1
        (0.30000000000000004, [0.3], False, False),  # no float tolerance for returned values
        (None, [6], False, False),
    ],
)
def test_returned_value_comparison(got, expected, strict, reference):
    assert returned_matches(got, expected, "strict") is strict
    assert returned_matches(got, expected, "reference") is reference
    assert returned_matches(got, expected) is reference


def test_unknown_comparison_is_refused():
    with pytest.raises(ValueError, match="unknown comparison"):
        stdout_matches("1", "1", "lenient")


# --- public examples ---------------------------------------------------------------------------


def test_codeforces_examples_keep_blank_lines_inside_an_output():
    question = "Intro\n-----Example-----\nInput\n2\n1\n\nOutput\n1\n\n2\n\n\n\n-----Note-----\n\nInput\n9\n"
    assert parse_examples(question) == {"inputs": ["2\n1\n"], "outputs": ["1\n\n2\n"]}


def test_atcoder_sample_sections():
    question = (
        "-----Sample Input-----\n3 4\n\n-----Sample Output-----\n7\n\nBecause 3+4=7.\n"
        "-----Sample Input 2-----\n1 1\n-----Sample Output 2-----\n2\n"
    )
    assert parse_examples(question) == {"inputs": ["3 4\n", "1 1\n"], "outputs": ["7\n", "2\n"]}


def test_codechef_labels_with_colons_and_explanations():
    question = "-----Example-----\nInput:\n2\n3\n\nOutput:\n5\n\nExplanation:\n2 + 3 = 5\n"
    assert parse_examples(question) == {"inputs": ["2\n3\n"], "outputs": ["5\n"]}


def test_unpaired_examples_give_none():
    assert parse_examples("-----Examples-----\nInput\n1\nOutput\n2\nInput\n3\n") == {
        "inputs": [],
        "outputs": [],
    }
    assert parse_examples("No sections at all") == {"inputs": [], "outputs": []}


def test_leetcode_examples_by_name_and_json_spellings():
    question = (
        "Example 1:\nInput: nums = [1,2], target = 3\nOutput: true\n\n"
        "Example 2:\nInput: target = 1, nums = []\nOutput: null\n"
    )
    assert parse_examples(question, "f", ["nums", "target"]) == {
        "inputs": [[[1, 2], 3], [[], 1]],
        "outputs": [True, None],
    }
    assert parse_examples('Input: s = "ab"\nOutput: "ba"\n', "rev", ["s"]) == {
        "inputs": [["ab"]],
        "outputs": ["ba"],
    }


def test_codewars_examples():
    question = (
        "Examples:\n```python\nget_score([1,2,3]) # returns 100 = points from one 1\n"
        'get_score([2,3,4,3,6,6]) # returns "Zonk" = no combinations here\n'
        "get_score(dice) # not a literal\nnot_get_score([1]) == 3\n```\n"
    )
    assert parse_examples(question, "get_score", ["dice"]) == {
        "inputs": [[[1, 2, 3]], [[2, 3, 4, 3, 6, 6]]],
        "outputs": [100, "Zonk"],
    }
    assert parse_examples('solve("abc") == "cba"\nsolve("x") -> "x"', "solve", ["s"])["outputs"] == [
        "cba",
        "x",
    ]


def test_parser_on_real_statements(shared_data):
    """Most statements show an example that is also a hidden test (train problems often reuse it)."""
    problems = apps.load(shared_data / "apps" / "codechain_train150.jsonl").problems
    from_statement = [p for p in problems if p.metadata["public_tests_source"] == "statement"]
    assert len(from_statement) >= 145
    reused = 0
    for problem in from_statement:
        hidden = json.loads(problem.test)
        public = problem.metadata["public_tests"]
        for given, expected in zip(public["inputs"], public["outputs"], strict=True):
            if any(
                given == h_in
                and (stdout_matches(expected, h_out) if isinstance(h_out, str) else expected == h_out)
                for h_in, h_out in zip(hidden["inputs"], hidden["outputs"], strict=True)
            ):
                reused += 1
                break
    assert reused >= 110


# --- prompts -----------------------------------------------------------------------------------------


def test_prompts_in_every_template_are_valid_code_or_the_hendrycks_format(shared_data):
    problems = apps.load(shared_data / "apps" / "codechain_train150.jsonl").problems
    for problem in problems:
        assert problem.prompt == apps.prompt(problem, "apps-codex-v1")
        for name in ("apps-codex-v1", "apps-codex-1shot-v1"):
            text = apps.prompt(problem, name)
            body = "    pass\n" if problem.entry_point and "class Solution" not in text else "pass\n"
            compile(text + (body if problem.entry_point else ""), problem.task_id, "exec")
            assert ("Use Call-Based format" in text) == bool(problem.entry_point)
        assert apps.prompt(problem, "apps-hendrycks-v1").startswith("\nQUESTION:\n")


def test_one_shot_appends_the_statement_example(tmp_path):
    rows = [
        record(31, inputs=["5 5\n"], outputs=["10\n"]),
        record(32, question='Sum. A backslash \\N and """quotes""".', inputs=["5 5\n"], outputs=["10\n"]),
    ]
    problems = apps.load(write_jsonl(tmp_path / "a.jsonl", rows)).by_task_id()
    one_shot = apps.prompt(problems["31"], "apps-codex-1shot-v1")
    assert one_shot.endswith('Example:\nInput:\n1 2\nOutput:\n3\n\nUse Standard Input format\n"""\n')
    assert "Example:" not in apps.prompt(problems["31"], "apps-codex-v1")
    assert "Example:" not in apps.prompt(problems["32"], "apps-codex-1shot-v1")  # no example in the statement
    escaped = apps.prompt(problems["32"])
    assert escaped.startswith('r"""') and compile(escaped, "32", "exec")
    assert apps.prompt(problems["31"], "apps-hendrycks-v1") == (
        f"\nQUESTION:\n{QUESTION}\nUse Standard Input format\nANSWER:\n"
    )
    with pytest.raises(ValueError, match="unknown APPS prompt template"):
        apps.prompt(problems["31"], "apps-codex-v2")


def test_program_is_prompt_plus_completion_only_for_continuation_templates(tmp_path):
    rows = [record(41, inputs=["1\n"], outputs=["1\n"], fn_name="f", starter_code="\ndef f(x):\n\t")]
    rows[0]["input_output"] = json.dumps({"inputs": [[1]], "outputs": [[1]], "fn_name": "f"})
    problem = apps.load(write_jsonl(tmp_path / "a.jsonl", rows)).problems[0]
    assert apps.program(problem, "return x") == "return x"
    assert apps.program(problem, "return x", "apps-codex-v1").endswith("def f(x):\n\treturn x")
    assert apps.program(problem, "print(1)", "apps-hendrycks-v1") == "print(1)"


# --- judging ----------------------------------------------------------------------------------------


def stdin_problem(tmp_path, inputs, outputs, question=QUESTION):
    rows = [record(51, inputs=inputs, outputs=outputs, question=question)]
    return apps.load(write_jsonl(tmp_path / "p.jsonl", rows)).problems[0]


class CountingSandbox:
    """The sandbox, counting the runs asked of it."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.runs = 0

    def run(self, jobs):
        self.runs += len(jobs)
        return self.sandbox.run(jobs)


def judged(problem, program, sandbox, **options):
    results = list(
        r.as_json()
        for r in apps.evaluate(
            {problem.task_id: problem}, [(problem.task_id, 0, program)], sandbox, **options
        )
    )
    assert len(results) == 1
    return results[0]


def test_standard_input_verdicts(tmp_path, sandbox):
    problem = stdin_problem(tmp_path, ["1 2\n", "2 2\n", "7 8\n"], ["3\n", "4\n", "15\n"])
    right = judged(problem, "a, b = map(int, input().split())\nprint(a + b)\n", sandbox)
    assert right["verdict"] == "passed" and right["public_passed"] and right["hidden_passed"] == 3
    assert [t["verdict"] for t in right["tests"]] == ["passed"] * 5
    assert right["difficulty"] == "introductory" and right["public_tests_source"] == "statement"

    wrong = judged(problem, "a, b = map(int, input().split())\nprint(a + b + (a == 2))\n", sandbox)
    assert (
        wrong["verdict"] == "failed" and wrong["detail"].startswith("wrong answer") and wrong["public_passed"]
    )
    assert [t["verdict"] for t in wrong["tests"]] == ["passed", "passed", "passed", "wrong_answer", "skipped"]
    assert wrong["tests"][3] | {"time": 0} == {
        "kind": "hidden",
        "index": 1,
        "verdict": "wrong_answer",
        "time": 0,
        "input": "2 2\n",
        "expected": "4\n",
        "got": "5\n",
    }
    assert wrong["detail"].startswith("wrong answer on hidden test 2 of 3")

    crash = judged(problem, "a, b = map(int, input().split())\nprint(a + b if a != 2 else a // 0)\n", sandbox)
    assert (
        crash["detail"].startswith("runtime error")
        and crash["verdict"] == "failed"
        and crash["public_passed"]
    )
    failing = next(t for t in crash["tests"] if t["verdict"] == "runtime_error")
    assert "ZeroDivisionError" in failing["message"] and failing["input"] == "2 2\n"
    assert failing["got"] == ""


def test_exit_after_printing_is_judged_on_the_output(tmp_path, sandbox):
    problem = stdin_problem(tmp_path, ["1 2\n"], ["3\n"])
    assert judged(problem, "import sys\nprint(3)\nsys.exit(1)\n", sandbox)["verdict"] == "passed"
    assert judged(problem, "print(3)\nexit()\n", sandbox)["verdict"] == "passed"
    assert judged(problem, "print(3)\nraise ValueError('late')\n", sandbox)["detail"].startswith(
        "runtime error"
    )


def test_programs_valid_only_inside_a_function_run_as_the_reference_runs_them(tmp_path, sandbox):
    problem = stdin_problem(tmp_path, ["1 2\n"], ["3\n"])
    program = "import sys\na, b = map(int, stdin.readline().split())\nprint(a + b)\nreturn\nprint('never')\n"
    assert judged(problem, program, sandbox)["verdict"] == "passed"
    as_written = judged(problem, program, sandbox, preamble=False)
    assert as_written["detail"].startswith("runtime error") and "SyntaxError" in as_written["detail"]
    assert judging._as_script("print(1)\n") == "print(1)\n"
    assert judging._as_script("def f(:\n") == "def f(:\n"  # broken either way: left as written


def test_timeouts_and_the_per_program_cap(tmp_path, sandbox):
    problem = stdin_problem(tmp_path, [f"{n} 0\n" for n in range(1, 7)], [f"{n}\n" for n in range(1, 7)])
    slow_then_wrong = (
        "a, b = map(int, input().split())\nif a in (2, 3):\n    while True: pass\nprint(a if a < 5 else 0)\n"
    )
    result = judged(problem, slow_then_wrong, sandbox, timeout=0.5)
    hidden = [t["verdict"] for t in result["tests"] if t["kind"] == "hidden"]
    assert hidden == ["passed", "timeout", "timeout", "passed", "wrong_answer", "skipped"]
    assert result["verdict"] == "failed" and result["detail"].startswith("timeout on hidden test 2 of 6")

    slow_only = "a, b = map(int, input().split())\nif a in (2, 3):\n    while True: pass\nprint(a)\n"
    result = judged(problem, slow_only, sandbox, timeout=0.5)
    assert result["verdict"] == "timeout" and result["detail"].startswith(
        "failed no test, timed out on 2 of 6"
    )
    assert result["public_passed"] is False and result["public_timed_out_only"] is False

    capped = judged(
        problem,
        "a, b = map(int, input().split())\nif a > 1:\n    while True: pass\nprint(a)\n",
        sandbox,
        timeout=0.5,
        max_timeouts=2,
    )
    hidden = [t["verdict"] for t in capped["tests"] if t["kind"] == "hidden"]
    assert hidden == ["passed", "timeout", "timeout", "skipped", "skipped", "skipped"]
    assert capped["verdict"] == "timeout"


def test_call_based_verdicts_with_solution_class_and_preamble(tmp_path, sandbox):
    starter = "\nclass Solution:\n    def pair(self, nums: List[int]) -> List[int]:\n        "
    rows = [
        record(
            61,
            question="Return the first two.",
            inputs=[[[1, 2, 3]], [[4, 5]]],
            outputs=[[[1, 2]], [[4, 5]]],
            fn_name="pair",
            starter_code=starter,
        )
    ]
    problem = apps.load(write_jsonl(tmp_path / "c.jsonl", rows)).problems[0]
    tuple_answer = "class Solution:\n    def pair(self, nums):\n        return tuple(nums[: gcd(2, 4)])\n"
    assert judged(problem, tuple_answer, sandbox)["verdict"] == "passed"
    without_imports = judged(problem, tuple_answer, sandbox, preamble=False)
    assert without_imports["detail"].startswith("runtime error") and "gcd" in without_imports["detail"]
    continued = judged(problem, "return nums[:1]", sandbox, template_name="apps-codex-v1")
    assert continued["detail"].startswith("wrong answer")
    wrong = next(t for t in continued["tests"] if t["verdict"] == "wrong_answer")
    assert wrong["input"] == "[[1, 2, 3]]" and wrong["expected"] == "[[1, 2]]" and wrong["got"] == "[1]"


def test_reference_comparison_by_default_and_strict_judged_beside_it(tmp_path, sandbox):
    """The published verdict uses the reference checker's rules; the strict verdict of the same runs
    is kept as a diagnostic, with a short reason where the two differ."""
    problem = stdin_problem(tmp_path, ["1 2\n", "3 4\n"], ["1 2\n", "3 4\n"])
    reversed_tokens = "a, b = input().split()\nprint(b, a)\n"
    counted = CountingSandbox(sandbox)
    result = judged(problem, reversed_tokens, counted)
    assert result["verdict"] == "passed" and result["strict_verdict"] == "failed"
    assert result["strict_reason"] == "wrong answer on hidden test 1 of 2"
    assert counted.runs == 3  # two examples, one of them also hidden test 1, then hidden test 2: each once

    right = judged(problem, "print(input())\n", sandbox)
    assert right["verdict"] == right["strict_verdict"] == "passed" and "strict_reason" not in right

    as_strict = judged(problem, reversed_tokens, sandbox, comparison="strict")
    assert as_strict["verdict"] == as_strict["strict_verdict"] == "failed"
    assert "strict_reason" not in as_strict
    with pytest.raises(ValueError, match="unknown comparison"):
        judged(problem, reversed_tokens, counted, comparison="lenient")


def test_strict_is_decided_even_where_the_reference_stops_first(tmp_path, sandbox):
    """Where strict is looser (decimals on a multi-number line), the reference fails a test that
    strict passes: the tests after it are run for the strict verdict, the published one is unchanged."""
    problem = stdin_problem(tmp_path, ["1\n", "2\n", "3\n"], ["2.0005 7\n", "2\n", "3\n"])
    program = "n = int(input())\nprint('2.00049999 7' if n == 1 else n)\n"
    counted = CountingSandbox(sandbox)
    result = judged(problem, program, counted)
    assert result["verdict"] == "failed" and result["detail"].startswith("wrong answer on hidden test 1 of 3")
    assert [t["verdict"] for t in result["tests"] if t["kind"] == "hidden"] == [
        "wrong_answer",
        "skipped",
        "skipped",
    ]
    assert counted.runs == 5  # two examples and hidden test 1, then hidden tests 2 and 3 for strict alone
    assert result["strict_verdict"] == "passed" and result["strict_reason"] == "passed all 3 hidden tests"
    partial = apps.judge(problem, [None] * 3)
    assert partial.verdict is None and partial.extra["strict_verdict"] is None


def test_a_sample_with_no_hidden_test_run_is_never_a_pass(tmp_path):
    problem = stdin_problem(tmp_path, ["1 2\n"], ["3\n"])
    nothing = apps.judge(problem, [])
    assert nothing.verdict is None and nothing.status == "not_run"
    from evaluation.benchmarks import Problem

    empty = {"inputs": [], "outputs": []}
    bare = Problem(
        "0", "", json.dumps({**empty, "fn_name": ""}), "", "", {**problem.metadata, "public_tests": empty}
    )
    verdict = apps.judge(bare, [])
    assert verdict.verdict == "failed" and verdict.status == "no_tests" and verdict.tests == []


def test_display_is_clipped():
    assert apps.clip("x" * 10) == "x" * 10
    long = apps.clip("y" * 2000)
    assert long.startswith("y" * 500) and long.endswith("[1500 more characters]")
    assert apps.clip("\n".join(["1"] * 100)).endswith("[160 more characters]")


# --- metrics --------------------------------------------------------------------------------------


def submission_rule_by_enumeration(kept_flags, correct_flags, k):
    """The rule written out: submit k samples, all drawn from kept ones first, then the rest."""
    kept = [i for i, flag in enumerate(kept_flags) if flag]
    rest = [i for i, flag in enumerate(kept_flags) if not flag]
    if len(kept) >= k:
        choices = list(itertools.combinations(kept, k))
    else:
        choices = [tuple(kept) + extra for extra in itertools.combinations(rest, k - len(kept))]
    return sum(any(correct_flags[i] for i in choice) for choice in choices) / len(choices)


@pytest.mark.parametrize("n", range(1, 7))
def test_filtered_pass_at_k_equals_the_submission_rule(n):
    for kept_flags in itertools.product([False, True], repeat=n):
        for correct_flags in itertools.product([False, True], repeat=n):
            kept = sum(kept_flags)
            kept_correct = sum(a and b for a, b in zip(kept_flags, correct_flags, strict=True))
            for k in range(1, n + 1):
                expected = submission_rule_by_enumeration(kept_flags, correct_flags, k)
                got = filtered_pass_at_k(n, sum(correct_flags), kept, kept_correct, k)
                assert got == pytest.approx(expected, abs=1e-12)


def test_filtered_pass_at_k_hand_made_cases():
    assert filtered_pass_at_k(10, 2, 0, 0, 1) == pass_at_k(10, 2, 1) == pytest.approx(0.2)  # none kept: raw
    assert filtered_pass_at_k(10, 2, 2, 2, 1) == 1.0  # the kept samples are the correct ones
    assert filtered_pass_at_k(10, 2, 4, 1, 1) == pytest.approx(0.25)
    assert filtered_pass_at_k(10, 2, 2, 0, 5) == pytest.approx(
        pass_at_k(8, 2, 3)
    )  # 2 kept, 3 drawn from the rest
    assert filtered_pass_at_k(10, 1, 3, 1, 5) == 1.0
    with pytest.raises(ValueError):
        filtered_pass_at_k(10, 1, 3, 2, 1)


def row(task_id, difficulty, verdict, public=True, public_timeout=False):
    return {
        "task_id": task_id,
        "sample": 0,
        "verdict": verdict,
        "difficulty": difficulty,
        "public_passed": public,
        "public_timed_out_only": public_timeout,
    }


def test_summary_per_difficulty_raw_filtered_and_with_timeouts():
    rows = [
        row("1", "introductory", "passed"),
        row("1", "introductory", "failed", public=False),
        row("2", "introductory", "failed", public=True),
        row("2", "introductory", "timeout", public=False, public_timeout=True),
        row("3", "competition", "failed", public=False),
        row("3", "competition", "passed", public=False),
        row("3", "competition", None),
    ]
    summary = apps.summarize(rows, ks=(1, 2, 5))
    assert summary["samples"] == 6 and summary["unjudged"] == 1
    intro = summary["figures"]["introductory"]
    assert intro["problems"] == 2 and intro["samples_per_problem"] == 2
    assert intro["raw"] == {"pass@1": pytest.approx(0.25), "pass@2": pytest.approx(0.5)}
    assert intro["raw+timeouts"]["pass@1"] == pytest.approx(0.5)
    assert intro["filtered"] == {"pass@1": pytest.approx(0.5), "pass@2": pytest.approx(0.5)}
    assert intro["filtered+timeouts"]["pass@1"] == pytest.approx((1 + 0.5) / 2)
    competition = summary["figures"]["competition"]
    assert competition["filtered"]["pass@1"] == pytest.approx(0.5)  # nothing kept: the raw figure
    assert "interview" not in summary["figures"]
    overall = summary["figures"]["overall"]
    assert overall["problems"] == 3 and set(overall["raw"]) == {"pass@1", "pass@2"}
    assert overall["raw"]["pass@1"] == pytest.approx((0.5 + 0.0 + 0.5) / 3)
    assert "public examples" in summary["filtered_rule"]


def test_strict_figures_beside_the_published_ones():
    rows = [
        {**row("1", "introductory", "passed"), "strict_verdict": "passed"},
        {**row("1", "introductory", "passed"), "strict_verdict": "failed"},
        {**row("2", "interview", "passed"), "strict_verdict": "failed"},
        {**row("2", "interview", None), "strict_verdict": None},
    ]
    summary = apps.summarize(rows, ks=(1, 2))
    assert summary["figures"]["overall"]["raw"]["pass@1"] == 1.0
    assert summary["figures"]["overall"]["strict"] == {"pass@1": pytest.approx(0.25)}
    assert summary["figures"]["interview"]["strict"] == {"pass@1": 0.0}
    samples = [JudgedSample(r["task_id"], r["verdict"], r) for r in rows if r["verdict"] is not None]
    strict = {(f.subset, f.metric): f.value for f in apps.figures(samples) if f.variant == apps.STRICT}
    assert strict == {("all", "pass@1"): 0.25, ("introductory", "pass@1"): 0.5, ("interview", "pass@1"): 0.0}
    # Samples judged before the strict verdict was kept: no strict figure rather than a wrong one.
    older = [
        JudgedSample(r["task_id"], r["verdict"], row(r["task_id"], r["difficulty"], r["verdict"]))
        for r in rows[:3]
    ]
    assert not [f for f in apps.figures(older) if f.variant == apps.STRICT]
    mixed = apps.summarize(rows[:2] + [row("2", "interview", "passed")])
    assert "strict" not in mixed["figures"]["overall"] and "raw" in mixed["figures"]["overall"]
