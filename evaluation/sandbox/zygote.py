"""The warm parent of one slot: builds the sandbox's file system once, then forks one sample per job.

The slot process creates the namespaces and execs a fresh interpreter for the zygote (`boot`):
PID 1 of the slot's PID namespace, in empty network, IPC and UTS namespaces. The zygote makes a
mount namespace whose root is a read-only tmpfs with read-only binds of the system and the
interpreter (`build_root`), joins the slot's cgroups, sets the fixed rlimits and loads the seccomp
filter, all once; every fork inherits them. It imports little (a small process forks and exits
faster) besides the modules samples commonly use, and it never sees test code or expected
outputs, so no secret can reach a sample through fork.

Per job it forks the sample into a fresh PID namespace, where `enter_sample` puts the remaining
layers in force before any untrusted code runs, enforces the time limit with SIGKILL of the
sample (PID 1 of its namespace: its death takes every process it started with it), and reports
the exit status, CPU time, OOM kills and captured output to the slot process.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import marshal
import os
import resource
import select
import signal
import socket
import sys
import time
from typing import Any, NoReturn

from evaluation.sandbox import harness, layers, wire
from evaluation.sandbox.deadlines import STARVED_CAP

# Imported once here so that samples find them ready: what HumanEval and APPS programs use most.
WARM_MODULES = (
    "bisect", "collections", "copy", "functools", "heapq", "itertools", "math", "operator", "re",
    "string", "typing",
)  # fmt: skip
# Files of /etc a program may reasonably need; the rest of /etc is not visible.
ETC_FILES = ("ld.so.cache", "localtime", "nsswitch.conf", "hosts", "host.conf", "mime.types")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
DEVICES = ("null", "zero", "full", "random", "urandom")
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp", "LANG": "C.UTF-8"}
SOCKET_FD = 3
STASH = "/.interpreter"  # where interpreter prefixes that live under /tmp wait inside the root
LANE_FD = 4  # a lock file shared by the slots of one lane: one sample at a time per lane (per core)
MESSAGE_LIMIT = 1 << 30
COMPILE_LIMIT = 1 << 16  # characters: a longer program is compiled in its sample, in its memory


def interpreter_dirs() -> list[str]:
    """The interpreter's prefixes: the venv and the Python it points to (e.g. under /root/.pyenv,
    which the sample's uid could not read: bound at the same path, it can)."""
    return sorted({os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)})


def boot(root: str) -> str:
    """The `python -I -c` program that starts a zygote. It registers the packages without running
    their __init__ (the controller's imports would make every fork heavier)."""
    packages = (("evaluation", root + "/evaluation"), ("evaluation.sandbox", root + "/evaluation/sandbox"))
    return (
        "import sys, types\n"
        f"for name, path in {packages!r}:\n"
        "    module = types.ModuleType(name); module.__path__ = [path]; sys.modules[name] = module\n"
        "from evaluation.sandbox import zygote\n"
        "zygote.main()\n"
    )


def _bind(source: str, target: str, device: bool = False) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    layers.mount(source, target, None, layers.MS_BIND | layers.MS_REC)
    flags = layers.MS_REMOUNT | layers.MS_BIND | layers.MS_NOSUID
    flags |= 0 if device else layers.MS_RDONLY | layers.MS_NODEV
    layers.mount("none", target, None, flags)


def _under_tmp(path: str) -> bool:
    return path == "/tmp" or path.startswith("/tmp/")


def build_root(root: str, uid: int) -> None:
    """Make `root` the root of a new mount namespace: system and interpreter read-only, /dev with
    a few devices, /proc of this PID namespace (other users' processes hidden), /tmp for the
    samples. Everything else (the repository, /root, /home, /var, /run with its sockets, /sys, the
    host's /tmp) does not exist inside."""
    layers.unshare(layers.CLONE_NEWNS)
    layers.mount("none", "/", None, layers.MS_REC | layers.MS_PRIVATE)
    layers.mount("tmpfs", root, "tmpfs", layers.MS_NOSUID | layers.MS_NODEV, "size=16m,mode=0755")
    for path in SYSTEM_DIRS:
        if os.path.islink(path):
            os.symlink(os.readlink(path), root + path)
        elif os.path.isdir(path):
            _bind(path, root + path)
    os.mkdir(root + "/etc", 0o755)
    for name in ETC_FILES:
        if os.path.exists(f"/etc/{name}"):
            _bind(os.path.realpath(f"/etc/{name}"), f"{root}/etc/{name}")
    for name, text in (
        ("passwd", f"root:x:0:0:root:/root:/bin/sh\nsandbox:x:{uid}:{uid}::/tmp:/bin/sh\n"),
        ("group", f"root:x:0:\nsandbox:x:{uid}:\n"),
    ):
        with open(f"{root}/etc/{name}", "w") as handle:
            handle.write(text)
    for index, path in enumerate(interpreter_dirs()):
        # A prefix under /tmp (a checkout there) would be hidden by the samples' /tmp: it waits
        # aside, and `mount_tmp` binds it back into every new /tmp.
        _bind(path, f"{root}{STASH}/{index}" if _under_tmp(path) else root + path)
    for name in DEVICES:
        _bind(f"/dev/{name}", f"{root}/dev/{name}", device=True)
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
    ):
        os.symlink(target, f"{root}/dev/{name}")
    os.symlink("/proc/self/fd/2", f"{root}/dev/stderr")
    os.symlink("/tmp", f"{root}/dev/shm")
    os.mkdir(root + "/proc", 0o555)
    layers.mount(
        "proc", root + "/proc", "proc", layers.MS_NOSUID | layers.MS_NODEV | layers.MS_NOEXEC, "hidepid=2"
    )
    os.mkdir(root + "/tmp", 0o755)
    os.mkdir(root + "/.old", 0o700)
    layers.pivot_root(root, root + "/.old")
    os.chdir("/")
    layers.umount("/.old")
    os.rmdir("/.old")
    layers.mount(
        "none",
        "/",
        None,
        layers.MS_REMOUNT | layers.MS_BIND | layers.MS_RDONLY | layers.MS_NOSUID | layers.MS_NODEV,
    )


class Zygote:
    def __init__(self, config: dict[str, Any], sock: socket.socket) -> None:
        self.config = config
        self.sock = sock
        self.uid: int = config["uid"]
        self.cgroups: dict[str, int] = config["cgroup_fds"]
        self.layers: dict[str, str] = {}
        self.landlock = False
        self.ruleset = -1
        self.pid_ns = -1
        self.oom_seen = 0
        self.oom_events = -1
        self.tmp_state: tuple[int, ...] = ()
        self.stdio: tuple[Any, ...] = ()
        self.quiet_stdio: tuple[Any, ...] = ()
        # The sample's end of its channel: the highest descriptor it may have, so that it is none of
        # its standard streams, and that the files it opens are numbered from 3 as in any process.
        self.channel = config["nofile"] - 1
        self.null = -1
        self.cpuacct = -1
        self.marker = (-1, -1)

    def setup(self) -> None:
        """Build what every sample shares; record each layer as working ("") or why not."""
        try:
            abi = layers.landlock_abi()
            self.landlock = abi >= 4
            self.layers["landlock"] = "" if abi >= 4 else f"Landlock ABI {abi} < 4 (no network rules)"
        except OSError as error:
            self.layers["landlock"] = f"Landlock unavailable: {error}"
        try:
            build_root(self.config["root"], self.uid)
            self.mount_tmp()
            self.layers["mountns"] = ""
        except OSError as error:
            self.layers["mountns"] = f"could not build the sandbox file system: {error}"
            return
        self.pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        self.layers["pidns"] = "" if os.getpid() == 1 else "the zygote is not PID 1 of its namespace"
        if {"memory", "pids"} <= set(self.cgroups):
            # Joined once and inherited by every fork (moving a task per sample is slow). Each
            # sample raises its OOM score to the maximum, so that the OOM killer takes the
            # sample's processes and never the zygote.
            layers.join_cgroups(self.cgroups)
            if "cpuacct" in self.cgroups:  # kept open: one pread per reading
                self.cpuacct = os.open(
                    "cpuacct.usage", os.O_RDONLY | os.O_CLOEXEC, dir_fd=self.cgroups["cpuacct"]
                )
            self.oom_seen = layers.read_counter(self.cgroups["memory"], "memory.oom_control", "oom_kill")
            with contextlib.suppress(OSError):  # without it, an OOM kill is still found when the sample ends
                self.oom_events = layers.oom_events(self.cgroups["memory"])
            self.layers["cgroup"] = ""
        else:
            self.layers["cgroup"] = "no cgroups"
        # Limits that do not change from job to job, inherited by each fork (the zygote runs as
        # root, to which RLIMIT_NPROC does not apply; only the samples' uid is counted).
        for limit, value in (
            (resource.RLIMIT_DATA, self.config["data_bytes"]),
            (resource.RLIMIT_NPROC, self.config["nproc"]),
            (resource.RLIMIT_NOFILE, self.config["nofile"]),
            (resource.RLIMIT_FSIZE, self.config["file_bytes"]),
            (resource.RLIMIT_CORE, 0),
            (resource.RLIMIT_MSGQUEUE, 0),
        ):
            resource.setrlimit(limit, (value, value))
        # The zygote never execs: no_new_privs costs it nothing, and every fork inherits it.
        layers.prctl(layers.PR_SET_NO_NEW_PRIVS, 1)
        try:
            # Loaded once: it allows the zygote's own calls (unshare and setns of a PID namespace,
            # mounting /tmp) by their arguments, and those need capabilities no sample ever has.
            layers.seccomp_load(layers.seccomp_program())
            self.layers["seccomp"] = ""
        except OSError as error:
            self.layers["seccomp"] = str(error)
        for name in WARM_MODULES:
            importlib.import_module(name)
        sys.path[:] = [
            path for path in sys.path if path and any(path.startswith(d) for d in interpreter_dirs())
        ]
        # Stdio objects made now so that samples need not build them (fds 0-2 change beneath).
        self.null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
        self.marker = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self.stdio = (
            open(0, encoding="utf-8", closefd=False),  # noqa: SIM115
            open(1, "w", encoding="utf-8", closefd=False),  # noqa: SIM115
            open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False, buffering=1),  # noqa: SIM115
        )
        self.quiet_stdio = (self.stdio[0], *harness.lossy_streams())

    def mount_tmp(self) -> None:
        """A fresh tmpfs on /tmp, owned by the samples' uid, and the Landlock rules that name it
        (rules name inodes, so a new /tmp needs new rules)."""
        with contextlib.suppress(OSError):
            layers.umount("/tmp")
        options = f"size={self.config['tmp_bytes']},nr_inodes=4096,mode=0700,uid={self.uid},gid={self.uid}"
        layers.mount("tmpfs", "/tmp", "tmpfs", layers.MS_NOSUID | layers.MS_NODEV, options)
        for index, path in enumerate(interpreter_dirs()):
            if _under_tmp(path):
                _bind(f"{STASH}/{index}", path)
        self.tmp_state = self._tmp_state()
        if self.ruleset >= 0:
            os.close(self.ruleset)
            self.ruleset = -1
        if self.landlock:
            self.ruleset, _ = layers.landlock_ruleset(["/"], ["/tmp"], [f"/dev/{name}" for name in DEVICES])

    @staticmethod
    def _tmp_state() -> tuple[int, ...]:
        """Any change to /tmp (an entry made or removed, chmod, xattr) changes its mtime or ctime."""
        info = os.stat("/tmp")
        return (info.st_mtime_ns, info.st_ctime_ns, info.st_mode, info.st_uid, info.st_gid, info.st_nlink)

    def serve(self) -> NoReturn:
        """Jobs arrive as b"J" with the sample's channel fd attached, then the spec; a b"K" (kill)
        that arrives after its sample ended is stale and ignored."""
        wire.send(SOCKET_FD, marshal.dumps(("ready", self.layers)))
        harness.warm_up()
        gc.collect()
        gc.freeze()
        while True:
            try:
                tag, fds, _, _ = socket.recv_fds(self.sock, 1, 1)
                if tag != b"J":
                    if not tag:
                        os._exit(0)
                    continue
                spec = marshal.loads(wire.receive(SOCKET_FD, MESSAGE_LIMIT))
            except (OSError, EOFError, ValueError):
                os._exit(0)
            try:
                report = self.run(spec, fds[0])
            except OSError as error:  # our failure (e.g. an input over the file size limit): not_run
                report = {"error": f"{type(error).__name__}: {error}"}
            wire.send(SOCKET_FD, marshal.dumps(report))

    def run(self, spec: dict[str, Any], channel: int) -> dict[str, Any]:
        script = spec["kind"] == "script"
        opened: list[int] = []
        # Compiled here, before the fork, so that no sample pays for the compiler's first use in a
        # fresh process; the time it took counts as the sample's, as in the reference.
        compiling = time.monotonic()
        code = harness.compile_program(spec) if len(spec["program"]) <= COMPILE_LIMIT else None
        compiled = time.monotonic() - compiling
        try:
            stdin = self._stdin(spec["stdin"])
            opened.append(stdin)
            stdout = os.memfd_create("stdout", os.MFD_CLOEXEC) if script else os.dup(self.null)
            opened.append(stdout)
            stderr = os.memfd_create("stderr", os.MFD_CLOEXEC)
            opened.append(stderr)
            # A PID namespace for the sample's processes, and an IPC namespace for its System V
            # and POSIX IPC objects, so that none outlives it for the next sample to find.
            layers.setns(self.pid_ns, layers.CLONE_NEWPID)
            layers.unshare(layers.CLONE_NEWPID | layers.CLONE_NEWIPC)
            fcntl.flock(LANE_FD, fcntl.LOCK_EX)  # the sample's own time starts once it has a core
            if self.oom_events >= 0:
                with contextlib.suppress(BlockingIOError):  # an event from before this sample is not its
                    os.eventfd_read(self.oom_events)
            started = time.monotonic() - compiled
            pid = os.fork()
        except OSError:
            fcntl.flock(LANE_FD, fcntl.LOCK_UN)
            for fd in [channel, *opened]:  # the slot process sees the end of the channel at once
                os.close(fd)
            raise
        if pid == 0:
            try:
                self.enter_sample(spec, stdin, stdout, stderr, channel)
            except BaseException as error:  # noqa: BLE001 - a set-up failure: report, never run the sample
                try:
                    wire.send(channel, b"X" + repr(error).encode(errors="replace"))
                finally:
                    os._exit(1)
            harness.main(spec, code, self.channel)
        os.close(channel)
        os.close(stdin)
        report = self.watch(pid, started, spec["timeout"])
        try:
            report["started"] = os.read(self.marker[0], 16) == b"S"
        except BlockingIOError:
            report["started"] = False
        if self._tmp_state() != self.tmp_state:
            self.mount_tmp()  # the sample used /tmp: the next one gets a new, empty one
        report["stdout"] = self._read(stdout, self.config["file_bytes"]) if script else b""
        report["stderr"] = self._read(stderr, 4096, tail=True)
        os.close(stdout)
        os.close(stderr)
        return report

    def _stdin(self, text: str | None) -> int:
        """The sample's standard input: a memory file holding `text`, or /dev/null."""
        if not text:
            return os.dup(self.null)
        stdin = os.memfd_create("stdin", os.MFD_CLOEXEC)
        data = memoryview(text.encode(errors="surrogateescape"))
        try:
            while data:  # a short write at the file size limit, then EFBIG: never a cut input
                data = data[os.write(stdin, data) :]
        except OSError:
            os.close(stdin)
            raise
        os.lseek(stdin, 0, os.SEEK_SET)
        return stdin

    def watch(self, pid: int, started: float, limit: float) -> dict[str, Any]:
        """Wait for the sample to end, for the slot's b"K", or for its time to run out (then
        SIGKILL). Its time is the wall time minus the time it was ready to run but waited for a CPU
        (the kernel's schedstat, its busiest thread): a loaded machine does not eat into a
        sample's budget, while sleeping and blocking count. Past STARVED_CAP times the limit it is
        stopped anyway, reported as starved (the slot re-runs those). Once its tree runs out of
        memory it is stopped at once: the OOM killer may have taken only a child, for which the
        parent could wait until its time is up (a multiprocessing pool does)."""
        pidfd = os.pidfd_open(pid)
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        poller.register(SOCKET_FD, select.POLLIN)
        if self.oom_events >= 0:
            poller.register(self.oom_events, select.POLLIN)
        deadline = started + limit
        timed_out = killed = starved = oom = False
        waited = 0.0
        cpu_start = self._tree_cpu()
        while True:
            events = dict(poller.poll(max(0.0, deadline - time.monotonic()) * 1000))
            if self.oom_events in events:
                oom = True
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                break
            if pidfd in events:
                break
            stop = False
            if SOCKET_FD in events:
                tag = self.sock.recv(1)
                if not tag:
                    os._exit(0)
                stop = tag == b"K"
            now = time.monotonic()
            if not stop and now >= deadline:
                waited = max(waited, self._waited(pid))
                # What the sample's own processes burnt counts in full: a fork bomb cannot starve
                # its main thread to stretch its time.
                used = max(now - started - waited, self._tree_cpu() - cpu_start)
                starved = now - started >= STARVED_CAP * limit
                if used < limit and not starved:
                    deadline = now + limit - used
                    continue
            if stop or now >= deadline:
                timed_out, killed = not stop, True
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                break
        ended = time.monotonic()
        _, status, usage = os.wait4(pid, 0)
        fcntl.flock(LANE_FD, fcntl.LOCK_UN)  # the sample and all its processes are gone
        os.close(pidfd)
        signal_number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        if self.oom_events < 0 and "memory" in self.cgroups:
            count = layers.read_counter(self.cgroups["memory"], "memory.oom_control", "oom_kill")
            oom, self.oom_seen = count > self.oom_seen, count
        return {
            "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": signal_number,
            "timed_out": timed_out,
            "starved": starved and timed_out,
            "stopped": killed and not timed_out,
            "oom": oom,
            "wall": ended - started,
            "waited": waited,
            "cpu": usage.ru_utime + usage.ru_stime,
        }

    def _tree_cpu(self) -> float:
        """CPU seconds used in the slot's cpuacct cgroup (the sample's whole tree, and the zygote's
        few wake-ups), or 0 where the host has no cpuacct controller."""
        if self.cpuacct < 0:
            return 0.0
        return int(os.pread(self.cpuacct, 64, 0)) / 1e9

    @staticmethod
    def _waited(pid: int) -> float:
        """Seconds the sample's busiest thread spent ready to run, waiting for a CPU."""
        waited = 0
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/schedstat", "rb") as handle:
                    waited = max(waited, int(handle.read().split()[1]))
        except (OSError, ValueError, IndexError):
            pass
        return waited / 1e9

    @staticmethod
    def _read(fd: int, limit: int, tail: bool = False) -> bytes:
        """A capture file's content, at most `limit` bytes (its end when `tail`)."""
        size = os.fstat(fd).st_size
        if not size:
            return b""
        offset = max(0, size - limit) if tail else 0
        chunks = []
        while offset < size and sum(map(len, chunks)) < limit:
            chunk = os.pread(fd, min(limit, 1 << 20), offset)
            if not chunk:
                break
            chunks.append(chunk)
            offset += len(chunk)
        return b"".join(chunks)[:limit]

    def enter_sample(self, spec: dict[str, Any], stdin: int, stdout: int, stderr: int, channel: int) -> None:
        """In the forked sample, before any of its code: the per-sample layers, in an order where
        each step still has the privilege it needs. Any failure raises, and the sample never runs.
        (The random module reseeds itself after fork.)"""
        os.close(self.marker[0])
        fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        os.write(fd, b"1000")
        os.close(fd)
        os.chdir("/tmp")
        for target, source in ((0, stdin), (1, stdout), (2, stderr), (self.channel, channel)):
            os.dup2(source, target)
        cpu = int(2 * spec["timeout"] + 10)  # a backstop only: the zygote enforces the time limit
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        if self.ruleset >= 0:
            layers.landlock_restrict(self.ruleset)
        kept = sorted((self.marker[1], self.channel))
        for low, high in zip((3, kept[0] + 1, kept[1] + 1), (*kept, 1 << 20), strict=True):
            os.closerange(low, high)
        os.setgroups([])
        os.setresgid(self.uid, self.uid, self.uid)
        os.setresuid(self.uid, self.uid, self.uid)
        layers.prctl(layers.PR_SET_DUMPABLE, 1)
        # Where output is not the result (all but script mode) a stream the program closed loses
        # what is written to it instead of failing the program, as the reference's swallow_io does.
        stdio = self.stdio if spec["kind"] == "script" else self.quiet_stdio
        sys.stdin, sys.stdout, sys.stderr = sys.__stdin__, sys.__stdout__, sys.__stderr__ = stdio
        # Last step: tell the zygote, through a pipe this process then no longer holds, that every
        # layer is in force. Only what happens after this byte is the sample's doing; a sample
        # that dies without it was never run (not_run), and none can fake its absence.
        os.write(self.marker[1], b"S")
        os.close(self.marker[1])


def main() -> NoReturn:
    """Entry point, exec'd by the slot process with the slot's socket on fd 3."""
    sock = socket.socket(fileno=SOCKET_FD)
    config = marshal.loads(wire.receive(SOCKET_FD, 1 << 20))
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    zygote = Zygote(config, sock)
    try:
        zygote.setup()
    except BaseException as error:  # noqa: BLE001 - report, then stop: the slot refuses to run jobs
        zygote.layers.setdefault("zygote", f"set-up failed: {error!r}")
    zygote.serve()
