"""Sandboxed execution of untrusted, model-written programs: isolated, and fast.

    with Sandbox(workers=2) as box:          # strict mode, 4 GiB per sample, one lane per core
        for index, outcome in box.run(jobs):  # streamed as they finish; identical jobs run once
            ...

Each slot is a trusted process started with a clean environment (never forked from the caller,
which may be a threaded Celery worker holding credentials) that owns a warm zygote: PID 1 of its
own PID namespace, in an empty network namespace, inside a mount namespace whose root holds only
read-only system and interpreter files, in the slot's cgroups, with rlimits and a seccomp filter
set once and the harness's modules imported. The zygote forks each sample into fresh PID and IPC
namespaces and puts the per-sample layers in force before any of the sample's code runs (an
unprivileged uid of the slot's own, Landlock, the CPU backstop). The time limit is enforced from
outside with SIGKILL of the sample's PID 1, which takes its whole tree with it. At most one
sample per core runs at a time (lanes); each lane's slots take turns, so that one slot's set-up
and reporting overlap another's sample. In strict mode (the default) HumanEval's check() runs in
the trusted slot process and calls the candidate through a proxy that carries plain data only
(`plain.py`); expected outputs never enter the sample. docs/sandbox.md is the threat model.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.sandbox import wire
from evaluation.sandbox.deadlines import slot_budget
from evaluation.sandbox.selftest import LAYERS

_ROOT = str(Path(__file__).resolve().parents[2])
_BOOT = f"import sys; sys.path.insert(0, {_ROOT!r}); from evaluation.sandbox import slot; slot.main()"
_CLEAN_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
_STDERR_KEEP = 2000
_NOT_RUN_RETRIES = 2
_START_TIMEOUT = 60.0
_GRACE = 8.0  # beyond the slot's own budget for a job: its messages to and from this process
UID_BASE = 100000


@dataclass(frozen=True)
class Job:
    """One execution. With `test`: HumanEval, passed only when check(entry_point) completes. With
    `stdin`, or with neither `test` nor `call`: script mode, run as __main__, stdout captured. With
    `call`: call mode, call the function (or Solution().method) and return its value as plain data.
    `prompt` is the trusted part of `program` (HumanEval's prompt); strict mode takes the test's
    helpers from it (HumanEval/32's poly), so that a sample cannot redefine them."""

    program: str
    test: str = ""
    entry_point: str = ""
    stdin: str | None = None
    call: tuple[str, list] | None = None
    timeout: float = 3.0
    prompt: str = ""

    @property
    def kind(self) -> str:
        if self.call is not None:
            return "call"
        if self.test and self.stdin is None:
            return "test"
        return "script"


@dataclass(frozen=True)
class Outcome:
    status: str
    detail: str
    stdout: str = ""
    returned: object = None
    wall_time: float = 0.0
    cpu_time: float = 0.0
    mode: str = ""
    layers: tuple[str, ...] = ()
    stderr: str = ""
    runs: int = field(default=1, compare=False)

    @property
    def verdict(self) -> str | None:
        """The paper's three outcomes: oom and crashed are failures; not_run is never counted."""
        if self.status == "not_run":
            return None
        if self.status in ("oom", "crashed"):
            return "failed"
        return self.status


class SandboxUnavailable(RuntimeError):
    """A required isolation layer does not work on this host; the message says which and why."""


def _cores() -> int:
    return len(os.sched_getaffinity(0))


class _Slot:
    """The controller's handle on one slot process."""

    def __init__(self, index: int, config: dict[str, Any]) -> None:
        self.index = index
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", _BOOT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_CLEAN_ENV,
            cwd="/",
            close_fds=True,
            start_new_session=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.write_fd = self.process.stdin.fileno()
        self.read_fd = self.process.stdout.fileno()
        self.buffer = b""
        self.key: str | None = None
        self.deadline = 0.0
        self.layers: dict[str, str] = {}
        self.pipeline = config["pipeline"]
        wire.send(self.write_fd, pickle.dumps({**config, "slot": index}))

    def wait_ready(self) -> None:
        """The slot's report on its layers ("" where one works), after its self-test."""
        try:
            self.layers = pickle.loads(wire.receive(self.read_fd, 1 << 20, time.monotonic() + _START_TIMEOUT))
        except (OSError, EOFError, TimeoutError, pickle.UnpicklingError) as error:
            self.kill()
            self.layers = {"slot": f"the slot process did not start: {error!r}"}

    def send(self, key: str, job: dict[str, Any], timeout: float) -> None:
        self.key = key
        self.deadline = time.monotonic() + slot_budget(timeout, self.pipeline) + _GRACE
        wire.send(self.write_fd, pickle.dumps(job))

    def read(self) -> dict[str, Any] | None:
        """A complete reply if one has arrived; raises EOFError when the slot process died."""
        chunk = os.read(self.read_fd, 1 << 20)
        if not chunk:
            raise EOFError("slot process ended")
        self.buffer += chunk
        if len(self.buffer) < 4:
            return None
        size = int.from_bytes(self.buffer[:4], "big")
        if len(self.buffer) < 4 + size:
            return None
        message, self.buffer = self.buffer[4 : 4 + size], self.buffer[4 + size :]
        self.key = None
        return pickle.loads(message)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    def close(self) -> None:
        """Closing stdin makes the slot remove its cgroups and exit; its zygote dies with it."""
        try:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


class Sandbox:
    """Runs at most `workers` samples at a time (at most the number of cores, one lane each). Each
    lane has `pipeline` slots, which take turns: while one slot's sample runs, the others receive
    their next job, set it up, and report the last one (one slot per lane measured fastest on a
    2-vCPU VM once lanes were pinned to cores; more may pay off where waking a process is cheap).
    Use as a context manager.

    strict: HumanEval tests run in the trusted slot process (see the module docstring); False runs
    openai/human-eval's single program inside the sample (faster, but a sample can forge a pass).
    memory_mb, nproc, nofile, file_mb, tmp_mb: per-sample limits.
    A job's timeout counts the time its sample ran or chose to wait (sleeping, blocking), not the
    time it was ready but had no CPU (the kernel's per-thread runqueue wait), so a loaded machine
    does not turn slow but correct samples into timeouts; a sample kept off the CPU so long that
    its wall time reaches 4x its limit is stopped as "starved". rerun_timeouts: "starved" runs
    those once more at the end of the run, "always" every timeout, "never" none.
    require: the layers without which no job runs (all by default).
    """

    def __init__(
        self,
        workers: int | None = None,
        strict: bool = True,
        memory_mb: int = 4096,
        *,
        nproc: int = 128,
        nofile: int = 1024,
        file_mb: int = 64,
        tmp_mb: int = 256,
        rerun_timeouts: str = "starved",
        require: Sequence[str] = LAYERS,
        pipeline: int = 1,
    ) -> None:
        if rerun_timeouts not in ("starved", "always", "never"):
            raise ValueError("rerun_timeouts must be 'starved', 'always' or 'never'")
        self.workers = max(1, min(workers or _cores(), _cores()))
        self.strict = strict
        self.rerun_timeouts = rerun_timeouts
        self.require = tuple(require)
        self.config = {
            "memory_bytes": memory_mb << 20,
            # A quarter above the memory cgroup's limit (see Slot.start): an allocation that could
            # never fit (a list of 10**9 entries under 4 GiB) fails at once with MemoryError instead
            # of being paged in until the OOM killer comes, which takes longer than a time limit
            # where page faults are slow (about 1.5 GiB/s on the VM measured). Memory that grows
            # step by step, its address space only a little ahead of what it touches, still meets
            # the cgroup first: its OOM kill takes every thread and child of the sample and cannot
            # be caught, while a MemoryError in a thread can be lost.
            "data_bytes": ((memory_mb + file_mb) * 5 // 4) << 20,
            "nproc": nproc,
            "nofile": nofile,
            "file_bytes": file_mb << 20,
            "tmp_bytes": tmp_mb << 20,
        }
        self.pipeline = max(1, pipeline)
        self.slots: list[_Slot] = []
        self.layers: tuple[str, ...] = ()
        self.lanes = ""

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the slots; each runs the self-test and the sandbox refuses to run on failure."""
        self.lanes = tempfile.mkdtemp(prefix="sandbox-lanes-")
        for lane in range(self.workers):
            Path(self.lanes, str(lane)).touch(mode=0o600)
        count = self.workers * self.pipeline
        self.slots = [_Slot(index, self._slot_config(index)) for index in range(count)]
        for slot in self.slots:
            slot.wait_ready()
        self.layers = tuple(layer for layer in LAYERS if all(not s.layers.get(layer) for s in self.slots))
        problems = {
            k: v
            for s in self.slots
            for k, v in s.layers.items()
            if v and (k in self.require or k not in LAYERS)
        }
        if problems:
            self.close()
            raise SandboxUnavailable(_explain(problems))

    def _slot_config(self, index: int) -> dict[str, Any]:
        """Each slot's samples get a uid of their own (RLIMIT_NPROC counts per uid). When the lanes
        cover every core this process may use, a lane's slots, zygotes and samples share one core,
        so that their many hand-overs never wake another core (on the VM measured here, a round
        trip between two processes cost 23 us of CPU on one core and 75 us across two). With fewer
        lanes than cores (several sandboxes on one host) the kernel places them."""
        lane = index % self.workers
        cpus = sorted(os.sched_getaffinity(0))
        uid = UID_BASE + (os.getpid() % 100000) * 64 + index
        return {
            **self.config,
            "uid": uid,
            "lane": str(Path(self.lanes, str(lane))),
            "cpu": cpus[lane] if self.workers == len(cpus) else None,
            "pipeline": self.pipeline,
        }

    def _new_slot(self, index: int) -> _Slot:
        slot = _Slot(index, self._slot_config(index))
        slot.wait_ready()
        return slot

    def close(self) -> None:
        for slot in self.slots:
            slot.close()
        self.slots = []
        if self.lanes:
            shutil.rmtree(self.lanes, ignore_errors=True)
            self.lanes = ""

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[int, Outcome]]:
        """Yield (index, outcome) as jobs finish. Identical jobs run once; timeouts are re-run as
        `rerun_timeouts` says; a failure of the sandbox itself is retried, then reported not_run."""
        if not self.slots:
            raise RuntimeError("the sandbox is not started (use it as a context manager)")
        indices: dict[str, list[int]] = {}
        unique: dict[str, Job] = {}
        for index, job in enumerate(jobs):
            key = _key(job)
            indices.setdefault(key, []).append(index)
            unique.setdefault(key, job)
        queue = deque(indices)
        runs: dict[str, int] = dict.fromkeys(indices, 0)
        failures: dict[str, int] = dict.fromkeys(indices, 0)
        reran: set[str] = set()
        selector = selectors.DefaultSelector()
        try:
            while queue or any(slot.key for slot in self.slots):
                for slot in self.slots:
                    if slot.key is None and queue:
                        key = queue.popleft()
                        runs[key] += 1
                        slot.send(key, self._message(unique[key]), unique[key].timeout)
                        selector.register(slot.read_fd, selectors.EVENT_READ, slot)
                timeout = max(0.0, min(s.deadline for s in self.slots if s.key) - time.monotonic())
                events = selector.select(timeout)
                finished: list[tuple[str, dict[str, Any]]] = []
                for event, _ in events:
                    slot = event.data
                    key = slot.key
                    try:
                        reply = slot.read()
                    except EOFError:
                        reply = {"status": "not_run", "detail": "sandbox: the slot process died"}
                        selector.unregister(slot.read_fd)
                        self._replace(slot)
                    else:
                        if reply is None:
                            continue
                        selector.unregister(slot.read_fd)
                    finished.append((key, reply))
                for slot in list(self.slots):
                    if slot.key and time.monotonic() > slot.deadline:
                        key = slot.key
                        selector.unregister(slot.read_fd)
                        self._replace(slot)
                        finished.append(
                            (key, {"status": "not_run", "detail": "sandbox: the slot stopped answering"})
                        )
                for key, reply in finished:
                    outcome = self._outcome(unique[key], reply, runs[key], key in reran)
                    if outcome.status == "not_run" and failures[key] < _NOT_RUN_RETRIES:
                        failures[key] += 1
                        queue.append(key)
                    elif outcome.status == "timeout" and key not in reran and self._rerun(reply):
                        reran.add(key)
                        queue.append(key)
                    else:
                        for index in indices[key]:
                            yield index, outcome
        finally:
            selector.close()
            for slot in list(self.slots):
                if slot.key is not None:
                    self._replace(slot)

    def _rerun(self, reply: dict[str, Any]) -> bool:
        starved = reply.get("starved", False)
        return self.rerun_timeouts == "always" or (self.rerun_timeouts == "starved" and starved)

    def _replace(self, slot: _Slot) -> None:
        slot.kill()
        self.slots[self.slots.index(slot)] = self._new_slot(slot.index)

    def _message(self, job: Job) -> dict[str, Any]:
        kind = job.kind
        if kind == "test":
            kind = "strict" if self.strict else "inline"
        return {
            "kind": kind,
            "program": job.program,
            "test": job.test,
            "entry_point": job.entry_point,
            "prompt": job.prompt,
            "stdin": job.stdin,
            "call": None if job.call is None else (job.call[0], list(job.call[1])),
            "timeout": float(job.timeout),
        }

    def _outcome(self, job: Job, reply: dict[str, Any], runs: int, rerun: bool) -> Outcome:
        mode = "inline" if job.kind == "test" and not self.strict else "strict"
        stderr = reply.get("stderr", b"")[-_STDERR_KEEP:].decode(errors="replace")
        detail = reply["detail"]
        if rerun and reply["status"] != "not_run":
            detail = (detail + " " if detail else "") + "(re-run after a timeout)"
        return Outcome(
            status=reply["status"],
            detail=detail,
            stdout=reply.get("stdout", b"").decode(errors="replace"),
            returned=reply.get("returned"),
            wall_time=reply.get("wall_time", 0.0),
            cpu_time=reply.get("cpu_time", 0.0),
            mode=mode,
            layers=self.layers,
            stderr=stderr,
            runs=runs,
        )


def _key(job: Job) -> str:
    return hashlib.sha256(
        pickle.dumps(
            (job.kind, job.program, job.test, job.entry_point, job.stdin, job.call, job.timeout, job.prompt)
        )
    ).hexdigest()


def _explain(problems: dict[str, str]) -> str:
    lines = [
        f"  {layer}: {why.strip().splitlines()[-1] if why.strip() else why}"
        for layer, why in sorted(problems.items())
    ]
    hint = (
        "The sandbox needs root with CAP_SYS_ADMIN (namespaces, mounts, cgroups) on Linux with Landlock"
        " and seccomp; run the worker as root in its container (see docs/sandbox.md)."
    )
    if os.geteuid() != 0:
        hint = f"This process runs as uid {os.geteuid()}, not root. " + hint
    return "isolation layers not working on this host:\n" + "\n".join(lines) + "\n" + hint


def run_jobs(jobs: Sequence[Job], **sandbox_kwargs: Any) -> list[Outcome]:
    """Run jobs and return their outcomes in job order."""
    outcomes: list[Outcome | None] = [None] * len(jobs)
    with Sandbox(**sandbox_kwargs) as box:
        for index, outcome in box.run(jobs):
            outcomes[index] = outcome
    return outcomes  # type: ignore[return-value]


def self_test(memory_mb: int = 4096) -> dict[str, str]:
    """Start one slot and report each layer: "" where it works, else why not. Never raises."""
    box = Sandbox(workers=1, memory_mb=memory_mb, pipeline=1)
    try:
        box.lanes = tempfile.mkdtemp(prefix="sandbox-lanes-")
        Path(box.lanes, "0").touch(mode=0o600)
        box.slots = [box._new_slot(0)]
        layers = box.slots[0].layers
        return {layer: layers.get(layer, "") for layer in (*LAYERS, *layers)}
    except OSError as error:
        return dict.fromkeys(LAYERS, f"could not start a slot: {error}")
    finally:
        box.close()
