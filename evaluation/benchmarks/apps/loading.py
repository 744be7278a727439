"""Reading APPS problems from every layout they come in, each checked and normalized.

Layouts: the Hugging Face record (a local JSONL or Arrow copy, or `codeparrot/apps` through
`datasets`), the original release's folders (`NNNN/question.txt, ...`) and MapCoder's rows.
A file that is not APPS is refused with the file and line; a problem that cannot be judged is
left out with its reason (`Skipped`), never crashed on.
"""

from __future__ import annotations

import ast
import gzip
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation.benchmarks import Benchmark, Problem, content_hash
from evaluation.benchmarks.apps.examples import parse_examples
from evaluation.benchmarks.apps.prompts import prompt

NAME = "apps"
HUB_DATASET = "codeparrot/apps"
DIFFICULTIES: tuple[str, ...] = ("introductory", "interview", "competition")
LAYOUTS: tuple[str, ...] = ("hf", "folder", "mapcoder")
PROTOCOLS: tuple[str, ...] = ("apps", "stdin")
# Public examples borrowed from the hidden tests when the statement shows none.
PUBLIC_FALLBACK = 3

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


def load(
    source: str | Path | None = None,
    *,
    split: str = "test",
    layout: str | None = None,
    protocol: str = "apps",
) -> Benchmark:
    """The benchmark from `source` (see `read`); problems left out are logged, not raised."""
    loaded = read(source, split=split, layout=layout, protocol=protocol)
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
