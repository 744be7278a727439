"""One worker slot: a trusted process that owns a zygote and decides every verdict.

Started by `Sandbox` with a clean environment (never forked from the caller). It creates the
slot's cgroups (`cgroups.py`) and namespaces, forks the zygote into them, runs the start-up
self-test (`selftest.py`), then for each job: sends the zygote the untrusted part only (program,
stdin, call), and talks to the sample over a fresh socket pair. In strict mode the HumanEval test
(and the trusted prompt's helpers) run here, calling the candidate through proxies that carry
plain data only (`proxy.py`); the sample never sees the test. Timeouts are enforced by the zygote
with SIGKILL; a guard timer here bounds the trusted test code itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import marshal
import os
import pickle
import signal
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, NoReturn

from evaluation.sandbox import harness, layers, selftest, wire, zygote
from evaluation.sandbox.cgroups import Cgroups
from evaluation.sandbox.deadlines import slot_budget
from evaluation.sandbox.proxy import (
    Candidate,
    CandidateGone,
    CandidateRaised,
    Link,
    SetupFailed,
    Unsupported,
    free_names,
    prefetch_plan,
)

# The sample's harness exited with harness.UNREPORTED: no report could be sent, never a pass.
_UNREPORTED = " (the program closed the sandbox's channel, so its run could not be reported)"
# This process's namespaces before it makes its own: the host's (or its container's).
HOST_NAMESPACES = {name: os.readlink(f"/proc/self/ns/{name}") for name in ("ipc", "mnt", "net", "pid")}


class TrustedTimeout(BaseException):
    """The time budget ran out while trusted test code was running."""


_compiled: dict[str, Any] = {}


def compiled(source: str, filename: str) -> Any:
    key = hashlib.sha256(source.encode(errors="surrogatepass")).hexdigest()
    if key not in _compiled:
        _compiled[key] = compile(source, filename, "exec")
    return _compiled[key]


def _guard(signum: int, frame: Any) -> None:
    raise TrustedTimeout()


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


class Slot:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.layers: dict[str, str] = {}
        self.cgroups: Cgroups | None = None
        self.sock: socket.socket | None = None
        self.zygote_pid = 0
        self.root = ""

    def start(self) -> None:
        config = self.config
        cgroup_fds: dict[str, int] = {}
        try:
            Cgroups.remove_stale("sandbox-")
            # The zygote lives in these cgroups too: leave it room to read back the sample's output.
            memory = config["memory_bytes"] + config["file_bytes"]
            self.cgroups = Cgroups(f"sandbox-{os.getpid()}-{config['slot']}", memory, config["nproc"] + 1)
            cgroup_fds = self.cgroups.open_dirs()
        except OSError as error:
            self.layers["cgroup"] = f"cannot create cgroups: {error}"
        for flag, layer in ((layers.CLONE_NEWNET, "netns"), (layers.CLONE_NEWIPC, "ipcns")):
            try:
                layers.unshare(flag | layers.CLONE_NEWUTS)
            except OSError as error:
                self.layers[layer] = f"cannot create a namespace: {error}"
        try:
            layers.unshare(layers.CLONE_NEWPID)
        except OSError as error:
            self.layers["pidns"] = f"cannot create a PID namespace: {error}"
        self.root = tempfile.mkdtemp(prefix="sandbox-root-")
        mine, theirs = socket.socketpair()
        boot = zygote.boot(str(Path(__file__).resolve().parents[2]))
        lane = os.open(config["lane"], os.O_RDWR | os.O_CLOEXEC)
        pid = os.fork()
        if pid == 0:  # this process is single-threaded, so fork then exec is safe
            try:
                layers.prctl(layers.PR_SET_PDEATHSIG, signal.SIGKILL)
                sources = [theirs.fileno(), lane] + [cgroup_fds[key] for key in sorted(cgroup_fds)]
                high = [os.dup2(fd, 1000 + index) for index, fd in enumerate(sources)]
                for index, fd in enumerate(high):
                    os.dup2(fd, zygote.SOCKET_FD + index)
                os.closerange(zygote.SOCKET_FD + len(high), 1 << 20)
                os.execve(sys.executable, [sys.executable, "-I", "-c", boot], zygote.ENV)
            finally:
                os._exit(1)
        theirs.close()
        for fd in [lane, *cgroup_fds.values()]:
            os.close(fd)
        fds = {key: zygote.SOCKET_FD + 2 + index for index, key in enumerate(sorted(cgroup_fds))}
        self.sock, self.zygote_pid = mine, pid
        try:
            wire.send(mine.fileno(), marshal.dumps({**config, "root": self.root, "cgroup_fds": fds}))
            kind, zygote_layers = marshal.loads(wire.receive(mine.fileno(), 1 << 20, time.monotonic() + 60))
        except (OSError, EOFError, TimeoutError, ValueError):
            zygote_layers = {"zygote": "the zygote died during set-up"}
        for key, value in zygote_layers.items():
            if value:
                self.layers.setdefault(key, value)
        verified = self.self_test() if self.usable else {}
        for layer in selftest.LAYERS:  # a layer counts as working only once the self-test has seen it work
            self.layers.setdefault(layer, verified.get(layer, "not verified: the self-test could not run"))

    @property
    def usable(self) -> bool:
        """Without its file system, PID namespace and zygote the slot runs nothing at all."""
        return all(not self.layers.get(layer) for layer in ("mountns", "pidns", "zygote", "slot"))

    def self_test(self) -> dict[str, str]:
        """Run the probe as an ordinary sample: layer -> "" where it works, else what it saw."""
        result = self.execute(selftest.probe_job(zygote.interpreter_dirs()))
        if result["status"] != "passed":
            self.layers["zygote"] = (
                f"the self-test sample did not run: {result['status']}: {result['detail']}"
            )
            return {}
        name = self.cgroups.name if self.cgroups is not None else ""
        return selftest.verify(json.loads(result["stdout"]), self.config, HOST_NAMESPACES, zygote.ENV, name)

    def stop(self) -> None:
        if self.zygote_pid:
            try:
                os.kill(self.zygote_pid, signal.SIGKILL)
                os.waitpid(self.zygote_pid, 0)
            except OSError:
                pass
        if self.cgroups is not None:
            self.cgroups.remove()
        if self.root:
            with contextlib.suppress(OSError):
                os.rmdir(self.root)

    # --- one job ----------------------------------------------------------------------------
    def budget(self, job: dict[str, Any]) -> float:
        return slot_budget(job["timeout"], self.config["pipeline"])

    def execute(self, job: dict[str, Any]) -> dict[str, Any]:
        """Run one job; returns status, detail, stdout, stderr, returned, wall_time, cpu_time."""
        assert self.sock is not None
        kind = job["kind"]
        mine, theirs = socket.socketpair()
        spec = {key: job.get(key) for key in ("kind", "program", "stdin", "timeout")}
        if kind == "inline":
            spec.update(test=job["test"], entry_point=job["entry_point"])
        socket.send_fds(self.sock, [b"J"], [theirs.fileno()])
        wire.send(self.sock.fileno(), marshal.dumps(spec))
        theirs.close()
        # The zygote decides when the sample's time is up (it may extend the wall time for a loaded
        # machine, up to STARVED_CAP times the limit); this deadline is only a safety net.
        latest = time.monotonic() + self.budget(job)
        link = Link(mine.fileno(), latest)
        verdict: dict[str, Any] = {}
        try:
            verdict = self._judge(job, link)
        except SetupFailed as error:  # believed only if the zygote says set-up did not complete
            verdict = {"setup": f"sandbox: {error}"}
        except Unsupported as error:
            verdict = {"status": "not_run", "detail": f"sandbox: {error}"}
        except CandidateGone:
            pass
        except TrustedTimeout:
            verdict = {"status": "timeout", "detail": "time limit reached while the test ran"}
        except BaseException as error:  # noqa: BLE001 - a failing test, raised by trusted code
            verdict = {"status": "failed", "detail": _detail(error)}
        finally:
            mine.close()  # a sample serving calls exits when its channel closes
        # A sample that is still computing answers the test no longer needs (a failed assertion
        # before a slow call) is killed after a moment instead of finishing them.
        report = self._report(linger=0.0 if kind == "inline" and verdict else 0.05)
        if "error" in report:
            return {"status": "not_run", "detail": f"sandbox: {report['error']}"}
        return self._outcome(job, verdict, report)

    def _report(self, linger: float) -> dict[str, Any]:
        """The zygote's report, sent when the sample has ended. A sample still running `linger`
        seconds after we are done with it is killed (b"K"; one that arrives late is ignored)."""
        assert self.sock is not None
        fd = self.sock.fileno()
        try:
            return marshal.loads(wire.receive(fd, 1 << 31, time.monotonic() + linger))
        except TimeoutError:
            self.sock.send(b"K")
        return marshal.loads(wire.receive(fd, 1 << 31))

    def _judge(self, job: dict[str, Any], link: Link) -> dict[str, Any]:
        kind = job["kind"]
        if kind == "script":
            detail = ""
            try:
                while True:  # until the program has exited: its exit status decides
                    record = link.receive()
                    detail = detail or record[1:].decode(errors="replace")[:2000]
            except CandidateGone:
                return {"detail": detail}
        if kind == "inline":
            record = link.receive()
            if record == b"P":
                return {"status": "passed", "detail": ""}
            return {"status": "failed", "detail": record[1:].decode(errors="replace")[:2000]}
        if kind == "call":
            name, args = job["call"]
            returned = link.call(name, tuple(args), {})
            link.check_intact()
            return {"status": "passed", "detail": "", "returned": returned}
        namespace: dict[str, Any] = {"__name__": "__check__"}
        signal.setitimer(signal.ITIMER_REAL, self.budget(job))  # bounds the trusted code itself (_guard)
        try:
            if job.get("prompt") and free_names(job["test"]) - {job["entry_point"]}:
                exec(compiled(job["prompt"], "<prompt>"), namespace)  # only a test that uses its helpers
            for name in free_names(job["test"]) - set(namespace):
                namespace[name] = Candidate(link, name)
            namespace[job["entry_point"]] = Candidate(link, job["entry_point"])
            link.prefetch(job["entry_point"], prefetch_plan(job["test"], job["entry_point"]))
            exec(compiled(job["test"], "<test>"), namespace)
            namespace["check"](namespace[job["entry_point"]])
            link.check_intact()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        return {"status": "passed", "detail": ""}

    def _outcome(
        self, job: dict[str, Any], verdict: dict[str, Any], report: dict[str, Any]
    ) -> dict[str, Any]:
        """Fail closed: "passed" needs the positive verdict above (and, for scripts, a clean exit);
        whatever ended the sample otherwise is named from the zygote's report. Running out of
        memory is "oom" however it showed: the OOM killer took one of the sample's processes (even
        a child whose parent then went on), or the program died of a MemoryError."""
        status, detail = verdict.get("status"), verdict.get("detail", "")
        out_of_memory = f"out of memory (limit {self.config['memory_bytes'] >> 20} MiB)"
        if not report["started"]:
            status, detail = "not_run", verdict.get("setup", "sandbox: the sample ended during set-up")
        elif status == "not_run":
            pass
        elif report["oom"]:
            status, detail = "oom", out_of_memory
        elif report["timed_out"]:
            status, detail = "timeout", f"killed after {job['timeout']:g} s"
            if report["waited"] >= 0.05:
                detail += f" (and {report['waited']:.1f} s waiting for a CPU, not counted)"
            if report["starved"]:
                detail += ", starved"
        unreported = _UNREPORTED if report["exit"] == harness.UNREPORTED else ""
        if status is not None:
            pass
        elif report["signal"] is not None and not report["stopped"]:
            status, detail = (
                "crashed",
                f"killed by signal {report['signal']} ({signal_name(report['signal'])})",
            )
        elif job["kind"] == "script":
            status, detail = (
                ("passed", "")
                if report["exit"] == 0
                else ("failed", detail or f"exit status {report['exit']}{unreported}")
            )
        elif report["exit"] is not None:
            status = "failed"
            detail = f"exited with status {report['exit']} before the test suite completed{unreported}"
        else:
            status, detail = "failed", "ended before the test suite completed"
        if status == "failed" and detail.startswith("MemoryError"):
            status, detail = "oom", f"{out_of_memory}: {detail}"
        return {
            "status": status,
            "detail": detail,
            "stdout": report["stdout"],
            "stderr": report["stderr"],
            "returned": verdict.get("returned") if status == "passed" else None,
            "wall_time": report["wall"],
            "cpu_time": report["cpu"],
            "starved": report.get("starved", False),
        }


def _detail(error: BaseException) -> str:
    if isinstance(error, CandidateRaised):
        return str(error)[:2000]
    return harness.describe(error)


def main() -> NoReturn:
    """Entry point: `python -I -c` from `Sandbox`; config on stdin, then jobs and outcomes."""
    control_in = 0
    control_out = os.dup(1)
    os.dup2(2, 1)
    sys.set_int_max_str_digits(0)
    config = pickle.loads(wire.receive(control_in, 1 << 20))
    if config.get("cpu") is not None:  # inherited by the zygote and its samples
        os.sched_setaffinity(0, {config["cpu"]})
    signal.signal(signal.SIGALRM, _guard)  # armed only while trusted test code runs
    slot = Slot(config)
    try:
        slot.start()
        wire.send(control_out, pickle.dumps(slot.layers))
        while True:
            try:
                job = pickle.loads(wire.receive(control_in, 1 << 31))
            except (OSError, EOFError):
                break
            try:
                if not slot.usable:
                    raise RuntimeError(f"this slot cannot isolate samples: {slot.layers}")
                result = slot.execute(job)
            except Exception:  # noqa: BLE001 - our own failure: report not_run, keep serving if we can
                result = {"status": "not_run", "detail": "sandbox: " + traceback.format_exc()[-2000:]}
            wire.send(control_out, pickle.dumps(result))
    finally:
        slot.stop()
    os._exit(0)
