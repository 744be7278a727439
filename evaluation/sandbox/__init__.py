"""Sandboxed execution of untrusted programs (first, simple version: one process per job).

This version starts one fresh interpreter per job in its own process group, enforces the time
limit from outside with SIGKILL of the group, and applies rlimits. It is NOT yet the isolated
executor of docs/sandbox.md; it exists so that callers can integrate against the final API.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from evaluation.sandbox import plain

STATUSES = ("passed", "failed", "timeout", "oom", "crashed", "not_run")
_ROOT = str(Path(__file__).resolve().parents[2])
_STDOUT_LIMIT = 16 << 20


@dataclass(frozen=True)
class Job:
    program: str
    test: str = ""
    entry_point: str = ""
    stdin: str | None = None
    call: tuple[str, list] | None = None
    timeout: float = 3.0


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

    @property
    def verdict(self) -> str | None:
        """The paper's three outcomes: oom and crashed are failures; not_run is never counted."""
        if self.status == "not_run":
            return None
        if self.status in ("oom", "crashed"):
            return "failed"
        return self.status


def _limits(memory_mb: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 20, 64 << 20))


class Sandbox:
    """Runs jobs on `workers` slots; use as a context manager."""

    def __init__(self, workers: int | None = None, strict: bool = True, memory_mb: int = 4096) -> None:
        self.workers = workers or len(os.sched_getaffinity(0))
        self.strict = strict
        self.memory_mb = memory_mb
        self.layers = ("pgroup", "rlimits")

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run(self, jobs: Sequence[Job]) -> Iterator[tuple[int, Outcome]]:
        with ThreadPoolExecutor(self.workers) as pool:
            futures = {pool.submit(self._run_one, job): index for index, job in enumerate(jobs)}
            for future in as_completed(futures):
                yield futures[future], future.result()

    def _run_one(self, job: Job) -> Outcome:
        with tempfile.TemporaryDirectory(prefix="sandbox-") as scratch:
            job_path = os.path.join(scratch, "job.json")
            result_path = os.path.join(scratch, "result.json")
            call = None if job.call is None else [job.call[0], plain.encode(list(job.call[1])).decode()]
            with open(job_path, "w", encoding="utf-8") as handle:
                json.dump(
                    {"program": job.program, "test": job.test, "entry_point": job.entry_point, "call": call},
                    handle,
                )
            code = f"import sys; sys.path.insert(0, {_ROOT!r}); from evaluation.sandbox import harness; harness.main_file({job_path!r}, {result_path!r})"
            started = time.monotonic()
            process = subprocess.Popen(
                [sys.executable, "-I", "-c", code],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=scratch,
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
                start_new_session=True,
                preexec_fn=lambda: _limits(self.memory_mb),
            )
            timed_out = False
            try:
                out, _ = process.communicate((job.stdin or "").encode(), timeout=job.timeout + 0.5)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(process.pid, signal.SIGKILL)
                out, _ = process.communicate()
            wall = time.monotonic() - started
            common = {"wall_time": wall, "mode": "inline", "layers": self.layers}
            if timed_out:
                return Outcome("timeout", f"killed after {job.timeout:g} s", **common)
            stdout = (
                out[:_STDOUT_LIMIT].decode(errors="replace")
                if job.stdin is not None or not (job.test or job.call)
                else ""
            )
            try:
                with open(result_path, encoding="utf-8") as handle:
                    record = json.load(handle)
            except (OSError, ValueError):
                if process.returncode < 0:
                    return Outcome("crashed", f"killed by signal {-process.returncode}", stdout, **common)
                return Outcome(
                    "failed", f"exited with status {process.returncode} before reporting", stdout, **common
                )
            returned = plain.decode(record["returned"]) if "returned" in record else None
            return Outcome(record["status"], record["detail"], stdout, returned, **common)


def run_jobs(jobs: Sequence[Job], **sandbox_kwargs: object) -> list[Outcome]:
    """Run jobs and return their outcomes in job order."""
    outcomes: list[Outcome | None] = [None] * len(jobs)
    with Sandbox(**sandbox_kwargs) as box:  # type: ignore[arg-type]
        for index, outcome in box.run(jobs):
            outcomes[index] = outcome
    return outcomes  # type: ignore[return-value]


def self_test() -> dict[str, str]:
    """Layers in force in this version and whether they work here (empty string: works)."""
    return {"pgroup": "", "rlimits": ""}
