"""One worker slot: a trusted process that owns a zygote and decides every verdict.

Started by `Sandbox` with a clean environment (never forked from the caller). It creates the
slot's cgroups and namespaces, forks the zygote into them, runs the start-up self-test, then for
each job: sends the zygote the untrusted part only (program, stdin, call), and talks to the sample
over a fresh socket pair. In strict mode the HumanEval test (and the trusted prompt's helpers) run
here, calling the candidate through `Candidate` proxies that carry plain data only; the sample
never sees the test. Timeouts are enforced by the zygote with SIGKILL; a guard timer here bounds
the trusted test code itself.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import errno
import hashlib
import inspect
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
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from evaluation.sandbox import harness, layers, plain, wire, zygote

REPLY_LIMIT = 64 << 20
NO_KWARGS = plain.encode({})
LAYERS = ("netns", "ipcns", "mountns", "pidns", "uid", "rlimits", "landlock", "seccomp", "cgroup")
# This process's namespaces before it makes its own: the host's (or its container's).
HOST_NAMESPACES = {name: os.readlink(f"/proc/self/ns/{name}") for name in ("ipc", "mnt", "net", "pid")}
HIDDEN = ("/root", "/home", "/work", "/var", "/run", "/sys", "/srv", "/opt", "/mnt", "/media", "/boot")


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


class TrustedTimeout(BaseException):
    """The time budget ran out while trusted test code was running."""


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


_compiled: dict[str, Any] = {}
_free: dict[str, frozenset[str]] = {}


def compiled(source: str, filename: str) -> Any:
    key = hashlib.sha256(source.encode(errors="surrogatepass")).hexdigest()
    if key not in _compiled:
        _compiled[key] = compile(source, filename, "exec")
    return _compiled[key]


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


def _guard(signum: int, frame: Any) -> None:
    raise TrustedTimeout()


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


class Cgroups:
    """One slot's cgroups: memory and pids limits, and cpuacct to measure the CPU time of a whole
    sample tree where the host has it (cgroup v1 controllers), created under the cgroups of the
    creating process. The zygote joins them through directory fds opened before it leaves the
    host's file system, and every sample it forks inherits them."""

    ROOT = Path("/sys/fs/cgroup")

    def __init__(self, name: str, memory_bytes: int, pids: int) -> None:
        self.dirs: dict[str, Path] = {}
        own = self._own_paths()
        v2_controllers = (
            (self.ROOT / "cgroup.controllers").read_text().split()
            if (self.ROOT / "cgroup.controllers").exists()
            else []
        )
        for controller in ("memory", "pids"):
            if controller in own and (self.ROOT / controller / "cgroup.procs").exists():
                self.dirs[controller] = self.ROOT / controller / own[controller].lstrip("/") / name
            elif controller in v2_controllers:
                raise OSError(
                    errno.ENOTSUP,
                    "cgroup v2 only host: delegate a cgroup to the worker (see docs/sandbox.md)",
                )
            else:
                raise OSError(errno.ENOENT, f"no {controller} cgroup controller on this host")
        cpuacct = self.ROOT / "cpuacct" / own.get("cpuacct", "/").lstrip("/")
        if "cpuacct" in own and (cpuacct / "cpuacct.usage").exists():
            self.dirs["cpuacct"] = cpuacct / name
        for path in self.dirs.values():
            path.mkdir(exist_ok=True)
        memory = self.dirs["memory"]
        (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
        if (memory / "memory.memsw.limit_in_bytes").exists():
            (memory / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))
        (self.dirs["pids"] / "pids.max").write_text(str(pids))

    @staticmethod
    def _own_paths() -> dict[str, str]:
        """controller -> path of this process's cgroup ("" for the v2 hierarchy)."""
        paths: dict[str, str] = {}
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(","):
                paths[controller] = path
        return paths

    def open_dirs(self) -> dict[str, int]:
        return {
            key: os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC) for key, path in self.dirs.items()
        }

    def remove(self) -> None:
        for path in self.dirs.values():
            with contextlib.suppress(OSError):
                path.rmdir()

    @classmethod
    def remove_stale(cls, prefix: str) -> None:
        """Remove cgroups left by slots whose process died without cleaning up (`prefix<pid>-...`)."""
        own = cls._own_paths()
        for controller in ("memory", "pids", "cpuacct"):
            base = cls.ROOT / controller / own.get(controller, "/").lstrip("/")
            for path in base.glob(prefix + "*") if base.is_dir() else ():
                pid = path.name[len(prefix) :].split("-")[0]
                if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                    with contextlib.suppress(OSError):
                        path.rmdir()


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
        for layer in LAYERS:  # a layer counts as working only once the self-test has seen it work
            self.layers.setdefault(layer, verified.get(layer, "not verified: the self-test could not run"))

    @property
    def usable(self) -> bool:
        """Without its file system, PID namespace and zygote the slot runs nothing at all."""
        return all(not self.layers.get(layer) for layer in ("mountns", "pidns", "zygote", "slot"))

    def self_test(self) -> dict[str, str]:
        """Run a probe as an ordinary sample and check each layer's effect from inside: layer ->
        "" where it works, else what the probe saw."""
        code = (
            "from __future__ import annotations\nimport json, os, socket\n"
            + inspect.getsource(visible_outside)
            + inspect.getsource(probe)
            + f"print(json.dumps(probe({HIDDEN!r}, {zygote.interpreter_dirs()!r})))\n"
        )
        result = self.execute({"kind": "script", "program": code, "stdin": None, "timeout": 10.0})
        if result["status"] != "passed":
            self.layers["zygote"] = (
                f"the self-test sample did not run: {result['status']}: {result['detail']}"
            )
            return {}
        facts = json.loads(result["stdout"])
        config = self.config
        expected_limits = {
            "RLIMIT_NPROC": [config["nproc"]] * 2,
            "RLIMIT_NOFILE": [config["nofile"]] * 2,
            "RLIMIT_FSIZE": [config["file_bytes"]] * 2,
            "RLIMIT_CORE": [0, 0],
        }
        checks = {
            "netns": (
                facts["namespaces"]["net"] != HOST_NAMESPACES["net"]
                and facts["interfaces"] == ["lo"]
                and facts["connect"] != "connected",
                f"interfaces {facts['interfaces']}, TCP connect {facts['connect']}",
            ),
            "mountns": (
                facts["namespaces"]["mnt"] != HOST_NAMESPACES["mnt"]
                and not facts["hidden"]
                and facts["root_write"] in ("EROFS", "EACCES")
                and facts["tmp_write"] == "ok",
                f"visible {facts['hidden']}; writing / gave {facts['root_write']}, /tmp {facts['tmp_write']}",
            ),
            "pidns": (
                facts["pid"] == 1
                and facts["others"] == []
                and facts["namespaces"]["pid"] != HOST_NAMESPACES["pid"],
                f"pid {facts['pid']}, sees {facts['others']}",
            ),
            "uid": (
                facts["uid"] == config["uid"]
                and int(facts["cap_eff"], 16) == 0
                and set(facts["environ"]) <= set(zygote.ENV),
                f"uid {facts['uid']}, capabilities {facts['cap_eff']}, environment {facts['environ']}",
            ),
            "rlimits": (facts["rlimits"] == expected_limits, f"limits {facts['rlimits']}"),
            "landlock": (facts["connect"] == "EACCES", f"TCP connect gave {facts['connect']}"),
            "seccomp": (facts["seccomp"] == "2" and facts["unshare"] == "EPERM", "no seccomp filter"),
            "cgroup": (
                all(
                    f"sandbox-{os.getpid()}-" in line
                    for line in facts["cgroup"]
                    if ":memory:" in line or ":pids:" in line
                ),
                "sample outside its cgroups",
            ),
            "ipcns": (facts["namespaces"]["ipc"] != HOST_NAMESPACES["ipc"], "the host's IPC namespace"),
        }
        return {layer: "" if ok else f"self-test: {why}" for layer, (ok, why) in checks.items()}

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
        """The longest a job can take here: the zygote may first wait for the lane while the lane's
        other slots run their samples, each for up to STARVED_CAP times its limit."""
        return self.config["pipeline"] * job["timeout"] * zygote.STARVED_CAP + 2.0

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
        whatever ended the sample otherwise is named from the zygote's report."""
        status, detail = verdict.get("status"), verdict.get("detail", "")
        if not report["started"]:
            status, detail = "not_run", verdict.get("setup", "sandbox: the sample ended during set-up")
        elif status == "not_run":
            pass
        elif report["timed_out"]:
            status, detail = "timeout", f"killed after {job['timeout']:g} s"
            if report["waited"] >= 0.05:
                detail += f" (and {report['waited']:.1f} s waiting for a CPU, not counted)"
            if report["starved"]:
                detail += ", starved"
        if status is not None:
            pass
        elif report["oom"]:
            status, detail = "oom", f"out of memory (limit {self.config['memory_bytes'] >> 20} MiB)"
        elif report["signal"] is not None and not report["stopped"]:
            status, detail = (
                "crashed",
                f"killed by signal {report['signal']} ({signal_name(report['signal'])})",
            )
        elif job["kind"] == "script":
            status, detail = (
                ("passed", "")
                if report["exit"] == 0
                else ("failed", detail or f"exit status {report['exit']}")
            )
        elif report["exit"] is not None:
            status, detail = "failed", f"exited with status {report['exit']} before the test suite completed"
        else:
            status, detail = "failed", "ended before the test suite completed"
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


def visible_outside(paths: Sequence[str], allowed: Sequence[str]) -> list[str]:
    """Entries under `paths` other than the `allowed` directories and the directories above them."""
    found: list[str] = []
    pending = [path for path in paths if os.path.lexists(path)]
    while pending:
        path = pending.pop()
        if path in allowed:
            continue
        if not any(a.startswith(path.rstrip("/") + "/") for a in allowed):
            found.append(path)
            continue
        pending.extend(os.path.join(path, name) for name in os.listdir(path))
    return sorted(found)


def probe(hidden: Sequence[str], allowed: Sequence[str]) -> dict[str, Any]:
    """Facts gathered from inside a sample by the self-test (its source is sent as the program)."""
    import ctypes
    import errno
    import resource

    def error_name(error: OSError) -> str:
        return errno.errorcode.get(error.errno or 0, str(error.errno))

    facts: dict[str, Any] = {"uid": os.getuid(), "pid": os.getpid()}
    with open("/proc/self/status") as handle:
        status = dict(line.split(":", 1) for line in handle.read().splitlines() if ":" in line)
    facts["cap_eff"] = status["CapEff"].strip()
    facts["seccomp"] = status["Seccomp"].strip()
    facts["interfaces"] = [name for _, name in socket.if_nameindex()]
    try:
        with socket.create_connection(("127.0.0.1", 9), timeout=1):
            facts["connect"] = "connected"
    except OSError as error:
        facts["connect"] = error_name(error)
    facts["hidden"] = visible_outside(hidden, allowed)
    try:
        with open("/probe", "w"):
            facts["root_write"] = "ok"
    except OSError as error:
        facts["root_write"] = error_name(error)
    try:
        with open("/tmp/probe", "w") as handle:
            handle.write("x")
        facts["tmp_write"] = "ok"
    except OSError as error:
        facts["tmp_write"] = error_name(error)
    libc = ctypes.CDLL(None, use_errno=True)
    facts["unshare"] = errno.errorcode.get(ctypes.get_errno(), "?") if libc.unshare(0x10000000) else "allowed"
    with open("/proc/self/cgroup") as handle:
        facts["cgroup"] = handle.read().splitlines()
    names = ("RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_CORE")
    facts["rlimits"] = {name: list(resource.getrlimit(getattr(resource, name))) for name in names}
    facts["environ"] = sorted(os.environ)
    facts["namespaces"] = {
        name: os.readlink(f"/proc/self/ns/{name}") for name in ("ipc", "mnt", "net", "pid")
    }
    facts["others"] = sorted(
        int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != int(os.readlink("/proc/self"))
    )
    return facts


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
