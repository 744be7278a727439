"""The trusted end of strict mode: test code runs in the slot process and calls the candidate
through `Candidate` proxies, which carry plain data only (`plain.py`) over the sample's channel.

The sample never sees the test or its expected outputs, and nothing it returns can run code here.
The exceptions say who is to blame: the sample (`CandidateRaised`, `CandidateGone`) or the sandbox
(`SetupFailed`, `Unsupported`: not_run, never the model's fault).
"""

from __future__ import annotations

import ast
import builtins
from typing import Any

from evaluation.sandbox import plain, wire

REPLY_LIMIT = 64 << 20
NO_KWARGS = plain.encode({})


class SetupFailed(Exception):
    """The sample reports that its isolation could not be put in force (believed only when the
    zygote confirms that set-up did not complete): not_run, never the model's fault."""


class Unsupported(Exception):
    """Something strict mode cannot do for this test (an argument that is not plain data): not_run."""


class CandidateGone(BaseException):
    """The sample stopped answering (ended, killed, timed out). A BaseException, so that a test's
    `except Exception` cannot swallow it; the verdict is decided from the zygote's report."""


class CandidateRaised(Exception):
    """The candidate raised; str() is the sample's `Type: message`."""


class Link:
    """The trusted end of one sample's channel."""

    def __init__(self, fd: int, deadline: float) -> None:
        self.fd = fd
        self.reader = wire.Reader(fd)
        self.deadline = deadline
        self.loaded = False  # known once a call was answered (or a ping, see check_intact)
        self.broken: BaseException | None = None  # a failure a test's `except` must not hide
        self.prefetched: tuple[str, list[bytes]] = ("", [])

    def prefetch(self, name: str, calls: list[bytes]) -> None:
        """Ask for the answers to calls the test will make, in its order, in one request: the
        sample computes them one after the other while the test starts, and `call` takes them as
        the test makes exactly those calls (its first different call drops the rest)."""
        if calls:
            self._send(b"\1" + name.encode() + b"\0" + b"\2".join(calls))
            self.prefetched = (name, list(calls))

    def _send(self, request: bytes) -> None:
        try:
            wire.send(self.fd, request)
        except OSError as error:
            # A sample that ended after saying why (its program raised while loading, its set-up
            # failed) left that message in the channel: it decides, not the closed channel.
            if self.broken is None:
                self.receive()  # raises for b"N", b"X" and the end of the channel
            self.broken = CandidateGone(str(error))
            raise self.broken from None

    def receive(self) -> bytes:
        """The next message. b"X" (the sample's set-up failed) and b"N" (the program raised while
        loading) end the conversation; whether set-up really failed is decided from the zygote's
        report, which a sample cannot forge."""
        if self.broken is not None:
            raise self.broken
        try:
            message = self.reader.receive(REPLY_LIMIT, self.deadline)
        except (OSError, EOFError, TimeoutError) as error:
            self.broken = CandidateGone(str(error))
            raise self.broken from None
        except ValueError as error:
            raise CandidateRaised(f"sandbox: {error}") from None
        if message[:1] == b"X":
            self.broken = SetupFailed(message[1:].decode(errors="replace")[-2000:])
            raise self.broken
        if message[:1] == b"N":
            self.broken = CandidateRaised(message[1:].decode(errors="replace"))
            raise self.broken
        return message

    def check_intact(self) -> None:
        """After the test: the program did load and the sample never stopped answering, even if the
        test caught what we raised."""
        if self.broken is not None:
            raise self.broken
        if not self.loaded:
            self._drop_prefetched()
            self._send(b"\0\0")
            if self.receive() != b"Y":
                raise CandidateRaised("sandbox: unexpected reply")

    def _drop_prefetched(self) -> None:
        for _ in self.prefetched[1]:
            self.receive()
        self.prefetched = ("", [])

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            body = plain.encode(list(args)) + b"\0" + (plain.encode(kwargs) if kwargs else NO_KWARGS)
        except (plain.NotPlain, ValueError) as error:
            raise Unsupported(f"strict mode cannot pass this argument to the candidate: {error}") from None
        prefetched_name, pending = self.prefetched
        if pending and name == prefetched_name and body == pending[0]:
            pending.pop(0)
        else:
            self._drop_prefetched()
            self._send(name.encode() + b"\0" + body)
        reply = self.receive()
        self.loaded = True
        if reply[:1] == b"R":
            try:
                return plain.decode(reply[1:])
            except ValueError as error:
                raise CandidateRaised(
                    f"TypeError: returned a value that is not plain data ({error})"
                ) from None
        if reply[:1] == b"E":
            raise _raised(reply[1:].decode(errors="replace"))
        raise CandidateRaised("sandbox: unexpected reply")


def _raised(detail: str) -> Exception:
    """The candidate's exception as the same built-in type where there is one (so a test's
    `except ValueError` behaves as in the reference), else CandidateRaised; str() is the detail."""
    name = detail.partition(":")[0]
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, Exception):
        try:
            error: Exception = type(name, (kind, CandidateRaised), {"__str__": lambda self: detail})()
            return error
        except TypeError:
            pass
    return CandidateRaised(detail)


class Candidate:
    """A function of the sample, callable from trusted test code with plain data."""

    def __init__(self, link: Link, name: str) -> None:
        self._link = link
        self.__name__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._link.call(self.__name__, args, kwargs)


_free: dict[str, frozenset[str]] = {}


def free_names(source: str) -> frozenset[str]:
    """Names a test reads but never binds and that are not built-ins: they come from the prompt
    (HumanEval/32's poly) or, without a trusted prompt, from the sample (proxied)."""
    if source not in _free:
        tree = ast.parse(source)
        loaded, bound = set(), set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                bound.add(node.name)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bound.add(node.name)
        _free[source] = frozenset(loaded - bound - set(dir(builtins)))
    return _free[source]


_plans: dict[tuple[str, str], list[bytes]] = {}


def prefetch_plan(test: str, entry_point: str) -> list[bytes]:
    """The calls a HumanEval-style check() surely makes first, in order: its leading assert
    statements that each call the candidate once with literal arguments (statements without a
    call in between are skipped). Encoded as `Link.call` encodes them."""
    key = (test, entry_point)
    if key not in _plans:
        plan: list[bytes] = []
        check = next(
            (
                node
                for node in ast.parse(test).body
                if isinstance(node, ast.FunctionDef) and node.name == "check"
            ),
            None,
        )
        names = {entry_point} | ({check.args.args[0].arg} if check and check.args.args else set())
        for statement in check.body if check else []:
            calls = [
                node
                for node in ast.walk(statement)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names
            ]
            if not calls and isinstance(statement, ast.Assert | ast.Pass):
                continue
            if not isinstance(statement, ast.Assert) or len(calls) != 1:
                break
            try:
                args = [ast.literal_eval(arg) for arg in calls[0].args]
                kwargs = {k.arg: ast.literal_eval(k.value) for k in calls[0].keywords if k.arg}
                if len(kwargs) != len(calls[0].keywords):
                    break
                plan.append(plain.encode(args) + b"\0" + plain.encode(kwargs))
            except (ValueError, TypeError, SyntaxError, RecursionError, plain.NotPlain):
                break
        _plans[key] = plan
    return _plans[key]
