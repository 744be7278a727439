"""The code that runs inside a sample's process, after the isolation layers are in force.

Nothing here is trusted: the sample can patch it or write a fake message. Verdicts that must not
be forged are therefore decided outside (`slot.py`, strict mode): here we only execute the
program, answer calls with plain data, and report what we saw. Messages on the channel (fd 3):
  b"N"+detail         strict and call modes: the program raised while loading
  b"R"+plain value    a call returned;  b"E"+detail  a call raised;  b"Y"  answer to a ping (an
                      empty name): the program is loaded
  b"P" / b"F"+detail  inline and script modes: the run completed / failed
(That the sample's set-up completed is told to the zygote, not here: see zygote.enter_sample.)
"""

from __future__ import annotations

import os
import sys
import types
import warnings
from typing import Any, NoReturn

from evaluation.sandbox import plain, wire

CHANNEL = 3
REQUEST_LIMIT = 256 << 20
DETAIL_LIMIT = 2000


Program = tuple[types.CodeType | BaseException, str]


def compile_program(spec: dict[str, Any]) -> Program:
    """The job's program compiled as its mode runs it, or the error compiling it raised (the
    sample's own failure, raised when the sample runs it), and the compiler's warnings as Python
    prints them (SyntaxWarning, ...), for the sample's standard error."""
    kind = spec["kind"]
    source, filename = spec["program"], "program.py" if kind == "script" else "<sample>"
    if kind == "inline":
        source = source + "\n" + spec["test"] + "\n" + f"check({spec['entry_point']})"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code: types.CodeType | BaseException = compile(source, filename, "exec")
        except BaseException as error:  # noqa: BLE001 - SyntaxError, ValueError (NUL), RecursionError, ...
            code = error.with_traceback(None)
    notes = "".join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, "") for w in caught)
    return code, notes


def _code(program: Program) -> types.CodeType:
    code, notes = program
    if notes:
        sys.stderr.write(notes)
    if isinstance(code, BaseException):
        raise code
    return code


def describe(error: BaseException) -> str:
    """`Type: message` (the type alone when the message is empty), as shown in verdict details."""
    try:
        message = str(error)
    except BaseException:  # noqa: BLE001 - a sample's exception may fail even to print itself
        message = "<unprintable>"
    name = type(error).__name__
    text = f"{name}: {message}" if message else name
    return text if len(text) <= DETAIL_LIMIT else text[:DETAIL_LIMIT] + "..."


def _send(payload: bytes) -> None:
    try:
        wire.send(CHANNEL, payload)
    except OSError:
        os._exit(0)  # the sample closed our channel: it reports nothing, which is never a pass


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001, S112 - a closed or broken stream is the program's business
            continue


def _module(name: str) -> dict[str, Any]:
    module = types.ModuleType(name)
    sys.modules[name] = module
    return module.__dict__


def run_inline(code: Program) -> NoReturn:
    """openai/human-eval's program, executed its way (exec in fresh globals, no __main__)."""
    try:
        exec(_code(code), {})
    except BaseException as error:  # noqa: BLE001 - exceptions, exits and interrupts all fail
        _send(b"F" + describe(error).encode(errors="replace"))
        os._exit(0)
    _send(b"P")
    os._exit(0)


def run_script(code: Program) -> NoReturn:
    """As `python program.py`: __main__, then join non-daemon threads; the exit status decides."""
    namespace = _module("__main__")
    sys.argv = ["program.py"]
    failure: str | None = None
    status = 0
    try:
        exec(_code(code), namespace)
    except SystemExit as stop:
        if stop.code is not None and stop.code != 0:
            status = stop.code if isinstance(stop.code, int) else 1
            if not isinstance(stop.code, int):
                print(stop.code, file=sys.stderr)
            failure = f"SystemExit: {stop.code}"[:DETAIL_LIMIT]
    except BaseException as error:  # noqa: BLE001
        failure, status = describe(error), 1
        sys.excepthook(type(error), error, error.__traceback__)
    threading = sys.modules.get("threading")  # not imported by the zygote: a fork would pay for it
    try:
        if threading is not None:
            threading._shutdown()  # type: ignore[attr-defined]  # what the interpreter does at exit
    except BaseException as error:  # noqa: BLE001
        failure, status = failure or describe(error), status or 1
    _flush()
    _send(b"F" + failure.encode(errors="replace") if failure else b"P")
    os._exit(status & 0xFF)


def find_callable(namespace: dict[str, Any], name: str) -> Any:
    """`name` from the program, or `Solution().name` when the program defines class Solution."""
    solution = namespace.get("Solution")
    if isinstance(solution, type) and hasattr(solution, name):
        return getattr(solution(), name)
    if name in namespace:
        return namespace[name]
    raise NameError(f"name {name!r} is not defined")


def _answer(namespace: dict[str, Any], name: bytes, args: bytes, kwargs: bytes) -> bytes:
    try:
        function = find_callable(namespace, name.decode())
        value = function(*plain.decode(args), **plain.decode(kwargs))
    except BaseException as error:  # noqa: BLE001
        return b"E" + describe(error).encode(errors="replace")
    try:
        return b"R" + plain.encode(value)
    except BaseException as error:  # noqa: BLE001 - even a failing conversion is the sample's
        return b"E" + f"TypeError: returned a value that is not plain data ({describe(error)})".encode()


def _load(code: Program, module_name: str | None) -> dict[str, Any]:
    """HumanEval programs load the reference's way (fresh globals), call mode as a module."""
    namespace: dict[str, Any] = _module(module_name) if module_name else {}
    exec(_code(code), namespace)
    return namespace


def serve(code: Program, module_name: str | None) -> NoReturn:
    """Load the program, then answer requests until the channel closes: a call (`name NUL args
    NUL kwargs`, plain data), a batch (`\\1name NUL` then calls `args NUL kwargs` joined by `\\2`,
    answered one by one, in order) or a ping (empty name)."""
    try:
        namespace = _load(code, module_name)
    except BaseException as error:  # noqa: BLE001
        _send(b"N" + describe(error).encode(errors="replace"))
        os._exit(0)
    requests = wire.Reader(CHANNEL)
    while True:
        try:
            request = requests.receive(REQUEST_LIMIT)
            name, rest = request.split(b"\0", 1)
        except (OSError, EOFError, ValueError):
            os._exit(0)
        if not name:
            _send(b"Y")
        elif name[:1] == b"\1":
            for call in rest.split(b"\2"):
                _send(_answer(namespace, name[1:], *call.split(b"\0", 1)))
        else:
            _send(_answer(namespace, name, *rest.split(b"\0", 1)))


WARM_PROGRAM = """
def candidate(numbers: list, text: str = "", *rest) -> list:
    \"\"\"A trusted stand-in for a sample: loops, comprehensions, strings, sorting.\"\"\"
    found = []
    for index, number in enumerate(sorted(numbers)):
        if number % 2 == 0 and str(number) not in text.lower().split():
            found.append(max(number, index) * 2)
    return [(value, str(value)) for value in found] + [{"n": len(numbers)}, abs(-1.5), None]
"""
WARM_CALLS = (([[3, 1, 2, 8], "a 2 b"], {}), ([[], ""], {}), ([[4, -6], "x"], {"rest": 1}), ([None], {}))


def warm_up(rounds: int = 12) -> None:
    """Run the sample's side on a trusted program in the zygote, before it forks: the compiler's
    state is built and these code paths are specialized once, instead of being written (and so
    copied, page by page) again in every forked sample."""
    ours, theirs = os.pipe()
    reader = wire.Reader(ours)
    try:
        for _ in range(rounds):
            namespace = _load(compile_program({"kind": "strict", "program": WARM_PROGRAM}), None)
            for args, kwargs in WARM_CALLS:
                wire.send(theirs, _answer(namespace, b"candidate", plain.encode(args), plain.encode(kwargs)))
                reader.receive(REQUEST_LIMIT)
    finally:
        os.close(ours)
        os.close(theirs)


def main(spec: dict[str, Any], code: Program | None) -> NoReturn:
    """Entry point in the sample process; the zygote has put the isolation in force and has
    compiled the program (None: a long one, compiled here, in the sample's own memory)."""
    kind = spec["kind"]
    if code is None:
        code = compile_program(spec)
    if kind == "inline":
        run_inline(code)
    if kind == "script":
        run_script(code)
    serve(code, None if kind == "strict" else "__sandbox__")
