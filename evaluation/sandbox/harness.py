"""The code that runs inside a sample's process: execute the program, report one record.

Everything here runs next to untrusted code, so nothing here is trusted: a sample can patch it or
write a fake record. Strict mode therefore decides HumanEval verdicts elsewhere (`trusted.py`);
this module only executes, answers calls with plain data, and reports what it saw.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import traceback
from typing import Any

from evaluation.sandbox import plain


def describe(error: BaseException) -> str:
    """`Type: message` (the type alone when the message is empty), as shown in verdict details."""
    message = str(error)
    name = type(error).__name__
    return f"{name}: {message}" if message else name


def fresh_globals(name: str) -> dict[str, Any]:
    return {"__name__": name, "__builtins__": __builtins__}


def run_inline(program: str, test: str, entry_point: str) -> dict[str, Any]:
    """The reference harness's program, executed the reference's way (globals without __main__)."""
    source = program + "\n" + test + "\n" + f"check({entry_point})"
    try:
        exec(compile(source, "<sample>", "exec"), {})
    except BaseException as error:  # noqa: BLE001 - any exception, exit or interrupt is a failure
        return {"status": "failed", "detail": describe(error)}
    return {"status": "passed", "detail": ""}


def run_script(program: str) -> dict[str, Any]:
    """Run as `python program.py`: __main__, wait for non-daemon threads, exit status decides."""
    namespace = fresh_globals("__main__")
    sys.argv = ["program.py"]
    result: dict[str, Any] = {"status": "passed", "detail": ""}
    try:
        exec(compile(program, "program.py", "exec"), namespace)
    except SystemExit as stop:
        code = stop.code
        if code is not None and code != 0:
            if not isinstance(code, int):
                print(code, file=sys.stderr)
            result = {"status": "failed", "detail": f"SystemExit: {code}"}
    except BaseException as error:  # noqa: BLE001
        traceback.print_exc()
        result = {"status": "failed", "detail": describe(error)}
    try:
        threading._shutdown()  # type: ignore[attr-defined]  # join non-daemon threads, as python does at exit
    except BaseException as error:  # noqa: BLE001
        result = {"status": "failed", "detail": describe(error)}
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001, S110 - a closed stream at exit is the program's business
            pass
    return result


def find_callable(namespace: dict[str, Any], name: str) -> Any:
    """`name` from the program, or `Solution().name` when the program defines class Solution."""
    solution = namespace.get("Solution")
    if isinstance(solution, type) and hasattr(solution, name):
        return getattr(solution(), name)
    if name in namespace:
        return namespace[name]
    raise NameError(f"name {name!r} is not defined")


def call(function: Any, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Call and encode the result as plain data; the record carries the encoded value."""
    try:
        value = function(*args, **kwargs)
    except BaseException as error:  # noqa: BLE001
        return {"status": "failed", "detail": describe(error)}
    try:
        return {"status": "passed", "detail": "", "returned": plain.encode(value).decode()}
    except (plain.NotPlain, ValueError, RecursionError) as error:
        return {"status": "failed", "detail": f"returned a value that is not plain data: {error}"}


def run_call(program: str, name: str, args: list[Any]) -> dict[str, Any]:
    namespace = fresh_globals("__main__")
    try:
        exec(compile(program, "<sample>", "exec"), namespace)
        function = find_callable(namespace, name)
    except BaseException as error:  # noqa: BLE001
        return {"status": "failed", "detail": describe(error)}
    return call(function, args, {})


def main_file(job_path: str, result_path: str) -> None:
    """Simple entry point: read a job file, run it, write the record file."""
    with open(job_path, encoding="utf-8") as handle:
        job = json.load(handle)
    if job["call"] is not None:
        record = run_call(job["program"], job["call"][0], plain.decode(job["call"][1]))
    elif job["test"]:
        record = run_inline(job["program"], job["test"], job["entry_point"])
    else:
        record = run_script(job["program"])
    fd = os.open(result_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, json.dumps(record).encode())
    os.close(fd)
    os._exit(0)
