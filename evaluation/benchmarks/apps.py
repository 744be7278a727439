"""APPS (Hendrycks et al., 2021) as the Codex paper evaluates it (section 3.5, Table 2).

Problems are whole programs reading standard input, or functions called with arguments
("call-based", when the data names an `fn_name`). Loading accepts the Hugging Face record layout
(a local JSONL or Arrow copy, or `codeparrot/apps` through `datasets`), the original folder
layout and MapCoder's layout. Each problem keeps its hidden tests in `Problem.test` (JSON text:
`inputs`, `outputs`, `fn_name`) and its public examples in `metadata["public_tests"]`.

A sample is judged with one sandbox run per distinct test input (`jobs`), compared outside the
sandbox (`judge`, rules in apps_checker and docs/apps.md), and summarized as raw and filtered
pass@k per difficulty (`summarize`).
"""

from __future__ import annotations

import ast
import gzip
import json
import logging
import re
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.benchmarks import Benchmark, Problem, content_hash
from evaluation.benchmarks.apps_checker import COMPARISONS, returned_matches, stdout_matches
from evaluation.benchmarks.apps_examples import parse_examples
from evaluation.benchmarks.contract import Column, Figure, JudgedSample, Judging, Sampling
from evaluation.execution import Judgement, SampleResult
from evaluation.metrics import filtered_pass_at_k, pass_at_k, usable_ks

NAME = "apps"
TITLE = "APPS"
JUDGING = Judging.EXECUTED
HUB_DATASET = "codeparrot/apps"
DIFFICULTIES: tuple[str, ...] = ("introductory", "interview", "competition")
SUBSETS: tuple[str, ...] = (*DIFFICULTIES, "all")
KS: tuple[int, ...] = (1, 5, 1000)
# Table 2's variants; each also has a "+timeouts" twin (the paper's parentheses).
VARIANTS: tuple[str, ...] = ("raw", "filtered")
TIMEOUTS = "+timeouts"
SAMPLING = Sampling(n=1000, temperatures=(0.6,), max_new_tokens=512)
COLUMNS = tuple(
    Column(f"apps:{subset}:{variant}", variant, "pass@1", subset, variant, group=f"{TITLE} {subset} pass@1")
    for subset in SUBSETS
    for variant in VARIANTS
)
PUBLIC_FALLBACK = 3
LAYOUTS: tuple[str, ...] = ("hf", "folder", "mapcoder")
PROTOCOLS: tuple[str, ...] = ("apps", "stdin")

log = logging.getLogger(__name__)


class AppsDataError(ValueError):
    """A problem file that cannot be read as APPS: the message says where and why."""


@dataclass(frozen=True)
class Skipped:
    task_id: str
    reason: str


@dataclass(frozen=True)
class Loaded:
    """A benchmark and the problems left out of it, each with its reason."""

    benchmark: Benchmark
    skipped: tuple[Skipped, ...] = ()


# --- loading -------------------------------------------------------------------------------------


def load(source: str | Path | None = None, **options: Any) -> Benchmark:
    """The benchmark from `source` (see `read`); problems left out are logged, not raised."""
    loaded = read(source, **options)
    for skipped in loaded.skipped:
        log.warning("APPS problem %s left out: %s", skipped.task_id, skipped.reason)
    return loaded.benchmark


def read(
    source: str | Path | None = None,
    *,
    split: str = "test",
    layout: str | None = None,
    protocol: str = "apps",
) -> Loaded:
    """Read APPS problems; `source` is a JSONL (plain or .gz) or Arrow file, a folder, or None.

    None loads `codeparrot/apps` (`split`) through the `datasets` library. `layout` is guessed
    from the data when not given. `protocol` applies to the MapCoder layout only: "apps" judges
    call-based rows by calling the function (arguments rebuilt from MapCoder's flattened lines),
    "stdin" judges every row as a standard-input program, as MapCoder's own harness did."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    if source is None:
        rows, guessed = _hub_rows(split), "hf"
    else:
        path = Path(source)
        if path.is_dir():
            rows, guessed = _folder_rows(path, split), "folder"
        elif path.suffix == ".arrow":
            rows, guessed = _arrow_rows(path), "hf"
        elif path.is_file():
            rows = _jsonl_rows(path)
            guessed = "mapcoder" if rows and "test_list" in rows[0][1] else "hf"
        else:
            raise AppsDataError(f"{path}: no such file or folder")
    layout = layout or guessed
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
    problems: list[Problem] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for where, row in rows:
        try:
            built = _from_mapcoder(row, protocol) if layout == "mapcoder" else _from_hf(row, layout)
        except (KeyError, TypeError, AttributeError) as error:
            raise AppsDataError(
                f"{where}: not an APPS {layout} record ({type(error).__name__}: {error})"
            ) from None
        except AppsDataError as error:
            raise AppsDataError(f"{where}: {error}") from None
        if isinstance(built, Problem) and built.task_id in seen:
            built = Skipped(built.task_id, f"{where} repeats an earlier problem with the same id")
        if isinstance(built, Skipped):
            skipped.append(built)
            continue
        seen.add(built.task_id)
        problems.append(built)
    frozen = tuple(problems)
    return Loaded(Benchmark(NAME, content_hash(frozen), frozen), tuple(skipped))


def _jsonl_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    row = json.loads(line)
                    if not isinstance(row, dict):
                        raise AppsDataError(f"{path}, line {number}: not a JSON object")
                    rows.append((f"{path}, line {number}", row))
    except (UnicodeDecodeError, json.JSONDecodeError, OSError) as error:
        raise AppsDataError(f"{path}: not a JSON-lines file ({error})") from None
    return rows


def _arrow_rows(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """An Arrow file as `datasets` writes it (stream format) or in the Arrow file format."""
    try:
        import pyarrow as pa
    except ImportError:
        raise AppsDataError(f"{path}: reading Arrow files needs pyarrow (pip install pyarrow)") from None
    try:
        with pa.memory_map(str(path)) as source:
            try:
                table = pa.ipc.open_stream(source).read_all()
            except pa.ArrowInvalid:
                source.seek(0)
                table = pa.ipc.open_file(source).read_all()
    except (pa.ArrowInvalid, OSError) as error:
        raise AppsDataError(f"{path}: not an Arrow file ({error})") from None
    return [(f"{path}, row {number}", row) for number, row in enumerate(table.to_pylist(), 1)]


def _hub_rows(split: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        import datasets
    except ImportError:
        raise AppsDataError(
            f"loading {HUB_DATASET} needs the `datasets` library (pip install datasets); "
            "or give a local JSONL, Arrow file or APPS folder"
        ) from None
    try:
        data = datasets.load_dataset(HUB_DATASET, split=split, trust_remote_code=True)
    except Exception as error:  # noqa: BLE001 - the hub's failures are many and all mean "not here"
        raise AppsDataError(f"could not load {HUB_DATASET} ({split}) from the hub: {error}") from None
    return [(f"{HUB_DATASET} {split}, row {number}", dict(row)) for number, row in enumerate(data, 1)]


def _folder_rows(path: Path, split: str) -> list[tuple[str, dict[str, Any]]]:
    """The original release: one folder per problem (`0000`, `0001`, ...) inside the split folder."""
    if not any((child / "question.txt").is_file() for child in path.iterdir()) and (path / split).is_dir():
        path = path / split
    rows = []
    for folder in sorted(child for child in path.iterdir() if child.is_dir() and child.name.isdigit()):

        def text(name: str, folder: Path = folder) -> str:
            file = folder / name
            return file.read_text(encoding="utf-8") if file.is_file() else ""

        try:
            metadata = json.loads(text("metadata.json") or "{}")
        except json.JSONDecodeError as error:
            raise AppsDataError(f"{folder / 'metadata.json'}: not JSON ({error})") from None
        row = {
            "problem_id": int(folder.name),
            "question": text("question.txt"),
            "solutions": text("solutions.json"),
            "input_output": text("input_output.json"),
            "difficulty": metadata.get("difficulty", ""),
            "url": metadata.get("url", ""),
            "starter_code": text("starter_code.py"),
        }
        rows.append((str(folder), row))
    if not rows:
        raise AppsDataError(f"{path}: no APPS problem folders (0000, 0001, ...) here")
    return rows


HF_FIELDS = ("problem_id", "question", "solutions", "input_output", "difficulty")
MAPCODER_FIELDS = ("id", "description", "difficulty", "test_list")


def _require(row: dict[str, Any], fields: tuple[str, ...], layout: str) -> None:
    missing = [name for name in fields if name not in row]
    if missing:
        raise AppsDataError(f"not an APPS {layout} record: missing {', '.join(missing)}")


def _from_hf(row: dict[str, Any], layout: str) -> Problem | Skipped:
    _require(row, HF_FIELDS, "hf")
    task_id = str(row["problem_id"])
    if not row.get("input_output"):
        return Skipped(task_id, "no tests (input_output is empty)")
    try:
        tests = json.loads(row["input_output"])
    except json.JSONDecodeError as error:
        return Skipped(task_id, f"input_output is not JSON ({error})")
    try:
        solutions = json.loads(row["solutions"]) if row.get("solutions") else []
    except json.JSONDecodeError:
        solutions = []
    if not isinstance(tests, dict):
        return Skipped(task_id, "input_output is not an object with inputs and outputs")
    return _build(
        task_id,
        question=row["question"],
        difficulty=row["difficulty"],
        starter_code=row.get("starter_code") or "",
        url=row.get("url") or "",
        fn_name=tests.get("fn_name") or "",
        inputs=tests.get("inputs"),
        outputs=tests.get("outputs"),
        solution=solutions[0] if solutions and isinstance(solutions[0], str) else "",
        extra={"layout": layout},
    )


def _from_mapcoder(row: dict[str, Any], protocol: str) -> Problem | Skipped:
    _require(row, MAPCODER_FIELDS, "mapcoder")
    task_id = str(row["id"])
    tests = row["test_list"]
    if isinstance(tests, str):
        tests = ast.literal_eval(tests)
    starter_code = row.get("starter_code") or ""
    extra: dict[str, Any] = {"layout": "mapcoder", "protocol": protocol}
    inputs = [test["input"] for test in tests]
    outputs: list[Any] = [test["output"] for test in tests]
    fn_name = ""
    if starter_code.strip() and protocol == "apps":
        fn_name = _function_name(starter_code)
        if not fn_name:
            return Skipped(task_id, "call-based row whose starter code names no function")
        params, required = _parameters(starter_code, fn_name)
        rebuilt = [_mapcoder_arguments(text, params, required) for text in inputs]
        if any(args is None for args in rebuilt):
            return Skipped(
                task_id, "call-based arguments that cannot be rebuilt from MapCoder's flattened lines"
            )
        inputs = rebuilt
        extra["args_reconstructed"] = True
    else:
        if not all(isinstance(o, list) and len(o) == 1 and isinstance(o[0], str) for o in outputs):
            return Skipped(
                task_id,
                "expected outputs are not text, so a standard-input program cannot be judged "
                "(MapCoder's own harness rejected these rows too)",
            )
        outputs = [o[0] for o in outputs]
    return _build(
        task_id,
        question=row["description"],
        difficulty=row["difficulty"],
        starter_code=starter_code,
        url="",
        fn_name=fn_name,
        inputs=inputs,
        outputs=outputs,
        solution="",
        extra=extra,
    )


def _build(
    task_id: str,
    *,
    question: str,
    difficulty: str,
    starter_code: str,
    url: str,
    fn_name: str,
    inputs: Any,
    outputs: Any,
    solution: str,
    extra: dict[str, Any],
) -> Problem | Skipped:
    """One validated problem: hidden tests normalized, public examples parsed or borrowed."""
    if difficulty not in DIFFICULTIES:
        raise AppsDataError(
            f"problem {task_id}: difficulty {difficulty!r} is not one of {', '.join(DIFFICULTIES)}"
        )
    if not isinstance(question, str) or not question.strip():
        return Skipped(task_id, "no problem statement")
    if not isinstance(inputs, list) or not isinstance(outputs, list) or not inputs:
        return Skipped(task_id, "no tests")
    if len(inputs) != len(outputs):
        return Skipped(task_id, f"{len(inputs)} test inputs but {len(outputs)} outputs")
    if fn_name:
        if not all(isinstance(args, list) for args in inputs):
            return Skipped(task_id, "a call-based test whose input is not a list of arguments")
    else:
        inputs = [_text(value) for value in inputs]
        outputs = [_text(value) for value in outputs]
        if None in inputs or None in outputs:
            return Skipped(task_id, "a standard-input test whose input or output is not text")
    if not _json_safe(inputs) or not _json_safe(outputs):
        return Skipped(task_id, "tests hold values that JSON cannot represent")
    params = _parameters(starter_code, fn_name)[0] if fn_name else []
    public = _json_examples(parse_examples(question, fn_name, params))
    source = "statement"
    if not public["inputs"]:
        public = {"inputs": inputs[:PUBLIC_FALLBACK], "outputs": outputs[:PUBLIC_FALLBACK]}
        source = "first-hidden-tests"
    metadata = {
        "difficulty": difficulty,
        "url": url,
        "question": question,
        "starter_code": starter_code,
        "fn_name": fn_name,
        "public_tests": public,
        "public_tests_source": source,
        **extra,
    }
    unprompted = Problem(task_id, "", "", fn_name, solution, metadata)
    return Problem(
        task_id=task_id,
        prompt=prompt(unprompted),
        test=json.dumps({"inputs": inputs, "outputs": outputs, "fn_name": fn_name}),
        entry_point=fn_name,
        canonical_solution=solution,
        metadata=metadata,
    )


def _text(value: Any) -> str | None:
    """Test text as the reference checker sees it: a list of lines is joined with newlines."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "\n".join(value)
    return None


def _json_safe(value: Any) -> bool:
    try:
        return json.loads(json.dumps(value)) == value
    except (TypeError, ValueError, RecursionError):
        return False


def _json_examples(examples: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Parsed examples that JSON can carry unchanged (a statement may show a set or a tuple)."""
    kept = [
        (i, o) for i, o in zip(examples["inputs"], examples["outputs"], strict=True) if _json_safe([i, o])
    ]
    return {"inputs": [i for i, _ in kept], "outputs": [o for _, o in kept]}


_DEF = re.compile(r"def\s+(\w+)\s*\(")


def _function_name(starter_code: str) -> str:
    """The function a starter asks for: its first `def` (the method, for LeetCode's class Solution)."""
    match = _DEF.search(starter_code)
    return match.group(1) if match else ""


def _parameters(starter_code: str, fn_name: str) -> tuple[list[str], int]:
    """Parameter names of `fn_name` in the starter code (without self) and how many are required."""
    try:
        tree = ast.parse(starter_code.rstrip() + "\n" + " " * 8 + "pass\n" if starter_code.strip() else "")
    except SyntaxError:
        tree = None
    if tree is not None:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == fn_name:
                names = [arg.arg for arg in node.args.posonlyargs + node.args.args]
                required = len(names) - len(node.args.defaults)
                if names and names[0] in ("self", "cls"):
                    names, required = names[1:], required - 1
                return names, max(required, 0)
    match = re.search(rf"def\s+{re.escape(fn_name)}\s*\(([^)]*)\)", starter_code)
    parts = [part.strip() for part in match.group(1).split(",") if part.strip()] if match else []
    parts = [part for part in parts if part.split(":")[0].strip() not in ("self", "cls")]
    return [part.split(":")[0].split("=")[0].strip() for part in parts], sum(
        "=" not in part for part in parts
    )


def _literal_or_text(text: str) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, text


def _mapcoder_arguments(text: str, params: list[str], required: int) -> list[Any] | None:
    """Arguments from MapCoder's flattening: `str(arg)` of each argument, joined by newlines.

    Literals are read back as values and anything else as a string, so a string that looks like
    a number comes back as a number: the flattening lost the quotes. When there are more lines
    than parameters, the split that reads the most arguments as literals wins (multi-line
    strings absorb the extra lines)."""
    lines = text.split("\n")
    counts = [n for n in range(max(required, 1), max(len(params), 1) + 1) if n <= len(lines)]
    if not counts:
        return None
    if len(lines) in counts:
        return [_literal_or_text(line)[1] for line in lines]
    count = counts[-1]
    best: tuple[int, list[Any]] | None = None
    for cuts in _splits(len(lines), count):
        groups = ["\n".join(lines[a:b]) for a, b in zip((0, *cuts), (*cuts, len(lines)), strict=True)]
        parsed = [_literal_or_text(group) for group in groups]
        score = sum(ok for ok, _ in parsed)
        if best is None or score > best[0]:
            best = (score, [value for _, value in parsed])
    return best[1] if best else None


def _splits(length: int, parts: int) -> Iterator[tuple[int, ...]]:
    """Ways to cut `length` lines into `parts` non-empty consecutive groups (cut positions)."""
    if parts == 1:
        yield ()
        return
    for first in range(1, length - parts + 2):
        for rest in _splits(length - first, parts - 1):
            yield (first, *(first + cut for cut in rest))


# --- prompts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A named, versioned prompt format; a run stores `name` to say how its prompts were made.

    `continuation`: the model continues the prompt, so the program is prompt + completion;
    otherwise the completion is the whole program."""

    name: str
    one_shot: bool
    continuation: bool


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template("apps-codex-v1", one_shot=False, continuation=True),
        Template("apps-codex-1shot-v1", one_shot=True, continuation=True),
        Template("apps-hendrycks-v1", one_shot=False, continuation=False),
    )
}
DEFAULT_TEMPLATE = "apps-codex-v1"
# Whole programs use top-level `if`, `def` and `print`, so the Codex stops would cut them: stop
# instead where the model starts a new docstring or a new question.
STOP_SEQUENCES: tuple[str, ...] = ('\n"""', "\nQUESTION:", "\n\n\n\n")


def template(name: str) -> Template:
    if name not in TEMPLATES:
        raise ValueError(f"unknown APPS prompt template {name!r}; known: {', '.join(TEMPLATES)}")
    return TEMPLATES[name]


def format_hint(problem: Problem) -> str:
    return "Use Call-Based format" if problem.metadata["fn_name"] else "Use Standard Input format"


def prompt(problem: Problem, template_name: str = "") -> str:
    """The prompt for `problem` in a named template.

    Codex templates put the question in a docstring, then the format hint, then the starter code
    (section 3.5); the 1-shot variant appends the statement's first example as a formatting hint
    (problems whose statement shows none get the zero-shot prompt). The hendrycks template is
    `eval/generate_gpt_codes.py`'s QUESTION/ANSWER prompt."""
    chosen = template(template_name or DEFAULT_TEMPLATE)
    meta = problem.metadata
    starter = meta["starter_code"]
    if not chosen.continuation:
        starter_part = "\n" + starter if starter else ""
        return f"\nQUESTION:\n{meta['question']}{starter_part}\n{format_hint(problem)}\nANSWER:\n"
    body = meta["question"].strip()
    if chosen.one_shot and meta["public_tests_source"] == "statement":
        body += "\n\n" + _example_text(
            problem, meta["public_tests"]["inputs"][0], meta["public_tests"]["outputs"][0]
        )
    body = body.replace('"""', "'''") + "\n\n" + format_hint(problem)
    opening = 'r"""' if "\\" in body else '"""'
    return f'{opening}\n{body}\n"""\n{starter.lstrip(chr(10))}'


def _example_text(problem: Problem, given: Any, expected: Any) -> str:
    fn_name = problem.metadata["fn_name"]
    if fn_name:
        call = f"{fn_name}({', '.join(repr(arg) for arg in given)})"
        return f"Example:\n>>> {call}\n{expected!r}"
    return f"Example:\nInput:\n{given.rstrip()}\nOutput:\n{expected.rstrip()}"


def program(problem: Problem, completion: str, template_name: str | None = None) -> str:
    """The program a completion stands for: the completion alone (the APPS convention, and any
    template whose completion is a whole program) or prompt + completion (Codex templates)."""
    if template_name is not None and template(template_name).continuation:
        return prompt(problem, template_name) + completion
    return completion


# --- execution and judging -----------------------------------------------------------------------

# The names the reference checker imports ahead of every program: programs written for APPS
# rely on them (LeetCode starters annotate with List without importing it).
PREAMBLE = (
    "import sys\nimport time\nimport itertools\n"
    "from itertools import accumulate, product, permutations, combinations\nimport collections\n"
    "from collections import Counter, OrderedDict, deque, defaultdict, ChainMap\n"
    "from functools import lru_cache\nimport math\n"
    "from math import sqrt, sin, cos, tan, ceil, fabs, floor, gcd, exp, log, log2\n"
    "import fractions\nfrom typing import List, Tuple\nimport random\nimport heapq\nfrom heapq import *\n"
)
STDIN_NAMES = "stdin = sys.stdin\nstdout = sys.stdout\n"
_USES_NP = re.compile(r"\bnp\b")


@dataclass(frozen=True)
class _Test:
    kind: str  # "public" or "hidden"
    index: int
    given: Any  # stdin text, or the argument list of a call
    expected: Any
    run: int  # which job runs its input


def _tests(problem: Problem) -> list[_Test]:
    """Public tests first, then hidden ones; tests sharing an input share one run."""
    hidden = json.loads(problem.test)
    public = problem.metadata["public_tests"]
    runs: dict[str, int] = {}
    tests = []
    for kind, group in (("public", public), ("hidden", hidden)):
        for index, (given, expected) in enumerate(zip(group["inputs"], group["outputs"], strict=True)):
            key = json.dumps(given, sort_keys=True)
            run = runs.setdefault(key, len(runs))
            tests.append(_Test(kind, index, given, expected, run))
    return tests


def _call_arguments(args: list[Any]) -> list[Any]:
    """JSON turned a dict argument's integer keys into strings; the reference turns them back."""
    first = args[0] if args else None
    if (
        isinstance(first, dict)
        and first
        and all(isinstance(k, str) and re.fullmatch(r"[+-]?\d+", k) for k in first)
    ):
        return [{int(key): value for key, value in first.items()}, *args[1:]]
    return args


def jobs(
    problem: Problem,
    completion: str,
    timeout: float = 3.0,
    template: str | None = None,
    *,
    preamble: bool = True,
) -> list[Any]:
    """One sandbox job per distinct test input (public examples first, then hidden tests), for
    the program the completion stands for in `template` (see `program`).

    Standard-input problems run the program as __main__ with the input on stdin; call-based
    ones call `fn_name` (or `Solution().fn_name`). `preamble` puts the reference checker's
    imports ahead of the program (numpy as np only for programs that name `np`), and runs a
    standard-input program that only compiles inside a function the way the reference runs
    every program: as the body of a function."""
    from evaluation.sandbox import Job

    program_text = program(problem, completion, template)
    fn_name = problem.metadata["fn_name"]
    if preamble:
        numpy = "import numpy as np\n" if _USES_NP.search(program_text) else ""
        if fn_name:
            program_text = PREAMBLE + numpy + program_text
        else:
            program_text = PREAMBLE + numpy + STDIN_NAMES + _as_script(program_text)
    made: dict[int, Any] = {}
    for test in _tests(problem):
        if test.run in made:
            continue
        if fn_name:
            made[test.run] = Job(
                program=program_text, call=(fn_name, _call_arguments(test.given)), timeout=timeout
            )
        else:
            made[test.run] = Job(program=program_text, stdin=test.given, timeout=timeout)
    return [made[run] for run in sorted(made)]


def _compiles(source: str) -> bool:
    """Whether Python accepts the text (compiled only, never run, in this trusted process)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, "program.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False
    return True


def _as_script(program_text: str) -> str:
    """The program itself when it compiles; otherwise, when it compiles as the body of a
    function (a top-level `return` or `nonlocal`, accepted by the reference, which wraps every
    program in `def code():`), that function and a call to it. Leading imports stay outside."""
    if _compiles(program_text):
        return program_text
    lines = program_text.split("\n")
    start = next((i for i, line in enumerate(lines) if not line.startswith(("import ", "from "))), len(lines))
    body = "".join("    " + line + "\n" for line in lines[start:])
    wrapped = "".join(line + "\n" for line in lines[:start]) + "def code():\n" + body + "\ncode()\n"
    return wrapped if _compiles(wrapped) else program_text


_FAILURES = ("wrong_answer", "runtime_error")
CLIP_CHARACTERS = 500
CLIP_LINES = 20


def _test_verdict(fn_name: str, test: _Test, outcome: Any, comparison: str) -> tuple[str, str]:
    """(verdict, message) of one test from its run's outcome."""
    if outcome is None or outcome.status == "not_run":
        return "not_run", "" if outcome is None else outcome.detail
    if outcome.status == "timeout":
        return "timeout", outcome.detail
    if outcome.status == "oom":
        return "runtime_error", outcome.detail or "out of memory"
    exited = outcome.status == "passed" or (not fn_name and outcome.detail.startswith("SystemExit"))
    if not exited:
        return "runtime_error", outcome.detail
    if fn_name:
        right = returned_matches(outcome.returned, test.expected, comparison)
    else:
        right = stdout_matches(outcome.stdout, test.expected, comparison)
    return ("passed" if right else "wrong_answer"), ""


def _stop(verdicts: Sequence[str | None], max_timeouts: int | None) -> tuple[int, bool]:
    """The per-program cap, walking the hidden tests in order: (how many count, decided?).

    The first wrong answer or runtime error ends the run (the sample has failed whatever
    follows), and so does the `max_timeouts`-th timeout (the tests left are counted as timeouts).
    A test not yet run (None) leaves the walk undecided. `max_timeouts` None: no cap at all."""
    timeouts = 0
    for position, verdict in enumerate(verdicts):
        if verdict is None:
            return position, False
        if max_timeouts is None:
            continue
        if verdict in _FAILURES or verdict == "not_run":
            return position + 1, True
        if verdict == "timeout":
            timeouts += 1
            if timeouts >= max_timeouts:
                return position + 1, True
    return len(verdicts), True


def clip(value: Any) -> str:
    """Text for display: at most CLIP_LINES lines and CLIP_CHARACTERS characters, marked when cut."""
    text = value if isinstance(value, str) else repr(value)
    lines = text.split("\n")
    shown = "\n".join(lines[:CLIP_LINES])[:CLIP_CHARACTERS]
    if len(shown) < len(text):
        return f"{shown}… [{len(text) - len(shown)} more characters]"
    return text


def judge(
    problem: Problem,
    outcomes: Sequence[Any],
    comparison: str = "strict",
    max_timeouts: int | None = 3,
) -> Judgement:
    """A sample's verdict from its runs' outcomes (aligned with `jobs`; None for runs not made).

    `verdict` is passed / failed / timeout (None when our side could not run it), `status` the
    first hidden test's verdict that is not a pass, `tests` the per-test rows, and `extra`
    holds `difficulty`, `public_passed`, `public_timed_out_only`, `hidden_passed`,
    `hidden_total` and `public_tests_source`. A sample with no
    hidden test executed is never a pass; verdict "timeout" means it failed no test but timed
    out on some (Table 2's parentheses). Hidden tests after the per-program cap's stop are
    "skipped" (see `_stop`); `max_timeouts=None` judges every test."""
    if comparison not in COMPARISONS:
        raise ValueError(f"unknown comparison {comparison!r}; known: {', '.join(COMPARISONS)}")
    fn_name = problem.metadata["fn_name"]
    tests = _tests(problem)

    def outcome_of(test: _Test) -> Any:
        return outcomes[test.run] if test.run < len(outcomes) else None

    public = [t for t in tests if t.kind == "public"]
    hidden = [t for t in tests if t.kind == "hidden"]
    public_verdicts = [_test_verdict(fn_name, t, outcome_of(t), comparison) for t in public]
    raw = [
        _test_verdict(fn_name, t, outcome_of(t), comparison) if outcome_of(t) is not None else None
        for t in hidden
    ]
    counted, _ = _stop([v[0] if v else None for v in raw], max_timeouts)
    hidden_verdicts = [raw[i] or ("not_run", "") for i in range(counted)]
    hidden_verdicts += [("skipped", "")] * (len(hidden) - counted)

    rows = [
        _test_row(fn_name, test, verdict, message, outcome_of(test))
        for test, (verdict, message) in zip(public + hidden, public_verdicts + hidden_verdicts, strict=True)
    ]
    kinds = [v for v, _ in hidden_verdicts]
    public_kinds = [v for v, _ in public_verdicts]
    extra = {
        "difficulty": problem.metadata["difficulty"],
        "public_passed": bool(public_kinds) and all(v == "passed" for v in public_kinds),
        "public_timed_out_only": _timed_out_only(public_kinds),
        "hidden_passed": kinds.count("passed"),
        "hidden_total": len(hidden),
        "public_tests_source": problem.metadata["public_tests_source"],
    }
    run_time = sum(getattr(outcome, "wall_time", 0.0) for outcome in outcomes if outcome is not None)

    def judgement(verdict: str | None, status: str, detail: str) -> Judgement:
        return Judgement(verdict, status, detail, run_time, rows, extra)

    if "not_run" in kinds or "not_run" in public_kinds:
        failure = next(m for v, m in public_verdicts + hidden_verdicts if v == "not_run")
        return judgement(None, "not_run", f"could not be run: {failure or 'a run is missing'}")
    if not hidden:
        return judgement("failed", "no_tests", "no hidden test was run")
    first = next(((i, v, m) for i, (v, m) in enumerate(hidden_verdicts) if v != "passed"), None)
    public_note = f"public examples: {public_kinds.count('passed')}/{len(public_kinds)} passed"
    if first is None:
        return judgement("passed", "passed", f"passed all {len(hidden)} hidden tests; {public_note}")
    position, verdict, message = first
    if _timed_out_only(kinds):
        timeouts = sum(v in ("timeout", "skipped") for v in kinds)
        detail = f"failed no test, timed out on {timeouts} of {len(hidden)} hidden tests; {public_note}"
        return judgement("timeout", "timeout", detail)
    suffix = f": {clip(message)}" if message else ""
    detail = (
        f"{verdict.replace('_', ' ')} on hidden test {position + 1} of {len(hidden)}{suffix}; {public_note}"
    )
    return judgement("failed", verdict, detail)


def _timed_out_only(kinds: list[str]) -> bool:
    """No wrong answer or runtime error, and at least one timeout (tests cut by the cap count as such)."""
    return bool(kinds) and "timeout" in kinds and all(v in ("passed", "timeout", "skipped") for v in kinds)


def _test_row(fn_name: str, test: _Test, verdict: str, message: str, outcome: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"kind": test.kind, "index": test.index, "verdict": verdict}
    if verdict == "skipped":
        return row
    row["time"] = round(getattr(outcome, "wall_time", 0.0), 4)
    if verdict == "passed":
        return row
    row["input"] = clip(test.given)
    row["expected"] = clip(test.expected)
    if outcome is not None and verdict in ("wrong_answer", "runtime_error"):
        row["got"] = clip(outcome.returned) if fn_name else clip(outcome.stdout)
    if message:
        row["message"] = clip(message)
    return row


# --- evaluating samples --------------------------------------------------------------------------


@dataclass
class _Pending:
    task_id: str
    sample: int
    problem: Problem
    jobs: list[Any]
    tests: list[_Test]
    outcomes: list[Any] = field(default_factory=list)
    wave: int = 0

    def next_runs(self) -> list[int]:
        """Runs for the next wave: public examples at first, then 1, 2, 4, ... hidden tests."""
        public = {t.run for t in self.tests if t.kind == "public"} if self.wave == 0 else set()
        hidden = list(
            dict.fromkeys(t.run for t in self.tests if t.kind == "hidden" and self.outcomes[t.run] is None)
        )
        self.wave += 1
        return sorted(public | set(hidden[: 2 ** (self.wave - 1)]))

    def decided(self, comparison: str, max_timeouts: int | None) -> bool:
        fn_name = self.problem.metadata["fn_name"]
        verdicts = [
            None
            if self.outcomes[t.run] is None
            else _test_verdict(fn_name, t, self.outcomes[t.run], comparison)[0]
            for t in self.tests
            if t.kind == "hidden"
        ]
        return _stop(verdicts, max_timeouts)[1]


def evaluate(
    problems: dict[str, Problem],
    samples: Iterable[tuple[str, int, str]],
    sandbox: Any,
    timeout: float = 3.0,
    template_name: str | None = None,
    *,
    comparison: str = "strict",
    max_timeouts: int | None = 3,
    preamble: bool = True,
) -> Iterator[SampleResult]:
    """Judge (task_id, index, completion) samples; `evaluation.execution.evaluate` calls this for APPS.

    Runs go to the sandbox in waves: all public examples and the first hidden test, then the
    next 2, 4, 8, ... hidden tests of the samples the per-program cap has not stopped, so a
    sample that fails early costs few runs. Results come out as samples are decided (see `judge`)."""
    pending: list[_Pending] = []
    for task_id, index, completion in samples:
        if task_id not in problems:
            raise ValueError(f"task_id {task_id!r} is not an APPS problem of this benchmark")
        problem = problems[task_id]
        made = jobs(problem, completion, timeout, template_name, preamble=preamble)
        pending.append(_Pending(task_id, index, problem, made, _tests(problem), [None] * len(made)))
    while pending:
        batch = [(entry, run) for entry in pending for run in entry.next_runs()]
        for position, outcome in sandbox.run([entry.jobs[run] for entry, run in batch]):
            entry, run = batch[position]
            entry.outcomes[run] = outcome
        waiting = {id(entry) for entry, _ in batch}
        still: list[_Pending] = []
        for entry in pending:
            if id(entry) in waiting and not entry.decided(comparison, max_timeouts):
                still.append(entry)
                continue
            judged = judge(entry.problem, entry.outcomes, comparison, max_timeouts)
            made = next((outcome for outcome in entry.outcomes if outcome is not None), None)
            execution = {"mode": getattr(made, "mode", ""), "layers": list(getattr(made, "layers", ()))}
            yield SampleResult(entry.task_id, entry.sample, judged, execution)
        pending = still


# --- figures -------------------------------------------------------------------------------------

FILTERED_RULE = (
    "Filtered pass@k: of each problem's samples, those that pass all of the problem's public "
    "examples are submitted first (the Codex paper's filter); when fewer than k pass them, all of "
    "those are submitted and the remaining submissions are drawn from the other samples, so a "
    "problem where no sample passes its examples scores its raw pass@k. In parentheses, a sample "
    "that failed no test but timed out on some also counts, for the examples and for the hidden tests."
)


@dataclass
class _Tally:
    """One problem's sample counts; `lenient` counts also samples that only timed out."""

    n: int = 0
    passed: int = 0
    passed_lenient: int = 0
    kept: int = 0
    kept_passed: int = 0
    kept_lenient: int = 0
    kept_lenient_passed: int = 0


def summarize(results: Iterable[Any], ks: Sequence[int] = KS) -> dict[str, Any]:
    """Raw and filtered pass@k, strict and counting timeouts, overall and per difficulty.

    `results` are `SampleResult`s or the rows their `as_json()` gives. Samples
    with verdict None (not run on our side) are left out and counted as `unjudged`; a k above a
    group's smallest number of samples per problem is left out of that group."""
    tallies: dict[str, dict[str, _Tally]] = defaultdict(lambda: defaultdict(_Tally))
    unjudged = samples = 0
    for result in results:
        row = result.as_json() if hasattr(result, "as_json") else result
        if row["verdict"] is None:
            unjudged += 1
            continue
        samples += 1
        passed = row["verdict"] == "passed"
        lenient = passed or row["verdict"] == "timeout"
        kept = bool(row["public_passed"])
        kept_lenient = kept or bool(row["public_timed_out_only"])
        tally = tallies[row["difficulty"]][str(row["task_id"])]
        tally.n += 1
        tally.passed += passed
        tally.passed_lenient += lenient
        tally.kept += kept
        tally.kept_passed += kept and passed
        tally.kept_lenient += kept_lenient
        tally.kept_lenient_passed += kept_lenient and lenient
    groups = {difficulty: tallies[difficulty] for difficulty in DIFFICULTIES if difficulty in tallies}
    overall = {task_id: tally for group in groups.values() for task_id, tally in group.items()}
    figures = {
        name: _group_figures(group, ks) for name, group in (("overall", overall), *groups.items()) if group
    }
    return {"samples": samples, "unjudged": unjudged, "figures": figures, "filtered_rule": FILTERED_RULE}


def _group_figures(problems: dict[str, _Tally], ks: Sequence[int]) -> dict[str, Any]:
    smallest = min(tally.n for tally in problems.values())
    figures: dict[str, Any] = {"problems": len(problems), "samples_per_problem": smallest}
    estimators = {
        "raw": lambda t, k: pass_at_k(t.n, t.passed, k),
        "raw" + TIMEOUTS: lambda t, k: pass_at_k(t.n, t.passed_lenient, k),
        "filtered": lambda t, k: filtered_pass_at_k(t.n, t.passed, t.kept, t.kept_passed, k),
        "filtered" + TIMEOUTS: lambda t, k: filtered_pass_at_k(
            t.n, t.passed_lenient, t.kept_lenient, t.kept_lenient_passed, k
        ),
    }
    for name, estimate in estimators.items():
        figures[name] = {
            f"pass@{k}": sum(estimate(t, k) for t in problems.values()) / len(problems)
            for k in usable_ks(ks, [smallest])
        }
    return figures


def figures(samples: Sequence[JudgedSample]) -> list[Figure]:
    """Table 2's figures: every variant of `summarize`, overall (subset "all") and per difficulty."""
    rows = [{**s.extra, "task_id": s.task_id, "verdict": s.verdict} for s in samples]
    return [
        Figure(metric, value, subset="all" if group == "overall" else group, variant=variant)
        for group, values in summarize(rows)["figures"].items()
        for variant in (v + suffix for v in VARIANTS for suffix in ("", TIMEOUTS))
        for metric, value in values[variant].items()
    ]
