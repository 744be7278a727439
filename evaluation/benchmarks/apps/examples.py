"""Public examples: the input/output pairs an APPS statement shows, parsed into tests of their own.

The Codex paper filters samples by these examples (section 3.5); they are kept apart from the
hidden tests that decide correctness. Formats understood:

- Codeforces/Codechef: a `-----Example(s)-----` section holding `Input` / `Output` blocks;
- AtCoder: `-----Sample Input N-----` / `-----Sample Output N-----` sections;
- LeetCode: `Input: a = 1, b = "x"` / `Output: 2` lines, arguments by name or position;
- Codewars: lines such as `fn_name(1, [2]) # returns 3` or `fn_name("a") == "b"`.

A statement whose examples do not pair up cleanly gives no examples at all rather than wrong ones.
"""

from __future__ import annotations

import ast
import re
from typing import Any

_SECTION = re.compile(r"^-{3,}\s*(?P<name>[^\n]*?)\s*-{3,}[ \t]*$", re.MULTILINE)
_EXAMPLES_SECTION = re.compile(r"(?i)^(?:examples?|samples?|sample\s+tests?|example\s+tests?)\s*\d*\s*:?$")
_SAMPLE_SECTION = re.compile(r"(?i)^sample\s+(input|output)\s*(\d*)\s*:?$")
_LABEL = re.compile(r"(?i)^\s*(?:sample\s+)?(input|output)\s*\d*\s*:?\s*$")
_STOP = re.compile(r"(?i)^\s*(?:explanation|note|notes)\b")
_LEETCODE = re.compile(r"(?i)^\s*(input|output)\s*:\s*(.*)$")
_SEPARATOR = re.compile(
    r"^\s*(?:(?:#|//)\s*)?(?:={2,}>?|-+>|=>|returns?\b|should\s+(?:return|be)\b|=|:)\s*(?:(?:#|//)\s*)?"
)
_JSON_NAMES = {"true": True, "false": False, "null": None, "None": None, "True": True, "False": False}


def parse_examples(question: str, fn_name: str = "", params: list[str] | None = None) -> dict[str, list[Any]]:
    """`{"inputs": [...], "outputs": [...]}` in the layout of APPS tests (empty lists when none).

    Standard-input problems give strings; call-based ones (`fn_name` set) give argument lists
    and return values, with keyword arguments put in the order of `params`."""
    pairs = _call_examples(question, fn_name, params or []) if fn_name else _stdin_examples(question)
    unique: list[tuple[Any, Any]] = []
    for pair in pairs:
        if pair not in unique:
            unique.append(pair)
    return {"inputs": [i for i, _ in unique], "outputs": [o for _, o in unique]}


# --- standard input ----------------------------------------------------------------------------


def _sections(question: str) -> list[tuple[str, str]]:
    matches = list(_SECTION.finditer(question))
    return [
        (
            match.group("name"),
            question[match.end() : matches[i + 1].start() if i + 1 < len(matches) else None],
        )
        for i, match in enumerate(matches)
    ]


def _block(lines: list[str]) -> str:
    """Lines of one example block, without the blank lines around it, newline-terminated."""
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return "".join(line.rstrip() + "\n" for line in lines)


def _stdin_examples(question: str) -> list[tuple[str, str]]:
    inputs: list[str] = []
    outputs: list[str] = []
    samples: dict[str, dict[str, str]] = {"input": {}, "output": {}}
    for name, body in _sections(question):
        sample = _SAMPLE_SECTION.match(name)
        if sample:
            kind, number = (
                sample.group(1).lower(),
                sample.group(2) or str(len(samples[sample.group(1).lower()]) + 1),
            )
            samples[kind][number] = _block(_first_paragraph(body.split("\n")))
        elif _EXAMPLES_SECTION.match(name):
            section_inputs, section_outputs = _labelled_blocks(body)
            if len(section_inputs) != len(section_outputs):
                return []
            inputs += section_inputs
            outputs += section_outputs
    if samples["input"] or samples["output"]:
        if set(samples["input"]) != set(samples["output"]):
            return []
        for number in samples["input"]:
            inputs.append(samples["input"][number])
            outputs.append(samples["output"][number])
    pairs = list(zip(inputs, outputs, strict=True))
    return [] if any(not output.strip() for _, output in pairs) else pairs


def _first_paragraph(lines: list[str]) -> list[str]:
    """A sample section's data: AtCoder writes the explanation after a blank line."""
    started = False
    for index, line in enumerate(lines):
        if line.strip():
            started = True
        elif started:
            return lines[:index]
    return lines


def _labelled_blocks(body: str) -> tuple[list[str], list[str]]:
    blocks: dict[str, list[str]] = {"input": [], "output": []}
    current: tuple[str, list[str]] | None = None
    for line in body.split("\n"):
        label = _LABEL.match(line)
        if label:
            if current:
                blocks[current[0]].append(_block(current[1]))
            current = (label.group(1).lower(), [])
        elif _STOP.match(line):
            if current:
                blocks[current[0]].append(_block(current[1]))
            current = None
        elif current:
            current[1].append(line)
    if current:
        blocks[current[0]].append(_block(current[1]))
    return blocks["input"], blocks["output"]


# --- call-based ----------------------------------------------------------------------------------


class _Literals(ast.NodeTransformer):
    """true/false/null (JSON spellings in LeetCode statements) as Python constants."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in _JSON_NAMES:
            return ast.copy_location(ast.Constant(_JSON_NAMES[node.id]), node)
        return node


def _literal(node: ast.AST) -> Any:
    return ast.literal_eval(_Literals().visit(node))


def _literal_text(text: str) -> tuple[bool, Any]:
    try:
        return True, _literal(ast.parse(text.strip(), mode="eval").body)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return False, None


def _longest_literal(text: str) -> tuple[bool, Any]:
    """The longest leading piece of `text` that is a literal: `100 = points from one 1` gives 100."""
    ends = [len(text)] + [m.start() for m in re.finditer(r"\s", text)][::-1]
    for end in ends:
        if text[:end].strip():
            ok, value = _literal_text(text[:end])
            if ok:
                return True, value
    return False, None


def _arguments(call: ast.Call, params: list[str]) -> list[Any] | None:
    try:
        args = [_literal(arg) for arg in call.args]
        named = {keyword.arg: _literal(keyword.value) for keyword in call.keywords}
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return None
    if not named:
        return args
    if None in named:
        return None
    rest = params[len(args) :]
    if set(named) == set(rest[: len(named)]):
        return args + [named[name] for name in rest[: len(named)]]
    if len(args) + len(named) == len(params):
        return args + list(named.values())  # the statement renamed a parameter: keep its order
    return None


def _call_examples(question: str, fn_name: str, params: list[str]) -> list[tuple[list[Any], Any]]:
    leetcode = _leetcode_examples(question, params)
    return leetcode if leetcode else _codewars_examples(question, fn_name, params)


def _leetcode_examples(question: str, params: list[str]) -> list[tuple[list[Any], Any]]:
    pairs: list[tuple[list[Any], Any]] = []
    pending: list[Any] | None = None
    for line in question.split("\n"):
        match = _LEETCODE.match(line)
        if not match:
            continue
        kind, text = match.group(1).lower(), match.group(2)
        if kind == "input":
            try:
                call = ast.parse(f"_f({text})", mode="eval").body
            except SyntaxError:
                return []
            pending = _arguments(call, params) if isinstance(call, ast.Call) else None
            if pending is None:
                return []
        else:
            ok, value = _literal_text(text)
            if pending is None or not ok:
                return []
            pairs.append((pending, value))
            pending = None
    return pairs


def _codewars_examples(question: str, fn_name: str, params: list[str]) -> list[tuple[list[Any], Any]]:
    pairs: list[tuple[list[Any], Any]] = []
    start_of_call = re.compile(rf"(?<![\w.]){re.escape(fn_name)}\s*\(")
    for line in question.split("\n"):
        match = start_of_call.search(line)
        if not match:
            continue
        for end in (i for i, char in enumerate(line) if char == ")" and i > match.start()):
            try:
                call = ast.parse(line[match.start() : end + 1], mode="eval").body
            except SyntaxError:
                continue
            if not isinstance(call, ast.Call):
                continue
            args = _arguments(call, params)
            separator = _SEPARATOR.match(line[end + 1 :])
            if args is None or not separator or not separator.group(0).strip():
                break
            ok, value = _longest_literal(line[end + 1 + separator.end() :].strip())
            if ok:
                pairs.append((args, value))
            break
    return pairs
