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
import threading
import types
from typing import Any, NoReturn

from evaluation.sandbox import plain, wire

CHANNEL = 3
REQUEST_LIMIT = 256 << 20
DETAIL_LIMIT = 2000


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


def run_inline(program: str, test: str, entry_point: str) -> NoReturn:
    """openai/human-eval's program, executed its way (exec in fresh globals, no __main__)."""
    source = program + "\n" + test + "\n" + f"check({entry_point})"
    try:
        exec(compile(source, "<sample>", "exec"), {})
    except BaseException as error:  # noqa: BLE001 - exceptions, exits and interrupts all fail
        _send(b"F" + describe(error).encode(errors="replace"))
        os._exit(0)
    _send(b"P")
    os._exit(0)


def run_script(program: str) -> NoReturn:
    """As `python program.py`: __main__, then join non-daemon threads; the exit status decides."""
    namespace = _module("__main__")
    sys.argv = ["program.py"]
    failure: str | None = None
    status = 0
    try:
        exec(compile(program, "program.py", "exec"), namespace)
    except SystemExit as stop:
        if stop.code is not None and stop.code != 0:
            status = stop.code if isinstance(stop.code, int) else 1
            if not isinstance(stop.code, int):
                print(stop.code, file=sys.stderr)
            failure = f"SystemExit: {stop.code}"[:DETAIL_LIMIT]
    except BaseException as error:  # noqa: BLE001
        failure, status = describe(error), 1
        sys.excepthook(type(error), error, error.__traceback__)
    try:
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


def serve(program: str, module_name: str | None) -> NoReturn:
    """Load the program, then answer requests until the channel closes: a call (`name NUL args
    NUL kwargs`, plain data), a batch (`\\1name NUL` then calls `args NUL kwargs` joined by `\\2`,
    answered one by one, in order) or a ping (empty name). HumanEval programs load the reference's
    way (fresh globals), call mode as a module."""
    namespace: dict[str, Any] = _module(module_name) if module_name else {}
    try:
        exec(compile(program, "<sample>", "exec"), namespace)
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


def main(spec: dict[str, Any]) -> NoReturn:
    """Entry point in the sample process; the zygote has put the isolation in force."""
    kind = spec["kind"]
    if kind == "inline":
        run_inline(spec["program"], spec["test"], spec["entry_point"])
    if kind == "script":
        run_script(spec["program"])
    serve(spec["program"], None if kind == "strict" else "__sandbox__")
