"""Hostile programs against the sandbox: each has its expected verdict, and after each the host is
checked: no process of a sample left, canary files untouched, no connection or datagram received
by listeners on the host's loopback, the parent's secrets nowhere in what came back, the slots
still the same processes, and the executor still right about the next samples.
"""

from __future__ import annotations

import os
import socket
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import SANDBOX_NEEDS_ROOT

from evaluation.benchmarks import humaneval
from evaluation.sandbox import Job, Outcome, Sandbox, run_jobs
from evaluation.sandbox.deadlines import STARVED_CAP
from evaluation.sandbox.zygote import interpreter_dirs

pytestmark = SANDBOX_NEEDS_ROOT

SECRET = "canary-secret-4b1d9e"
PROBLEM = humaneval.load().by_task_id()["HumanEval/0"]  # has_close_elements(numbers, threshold)
CORRECT = PROBLEM.canonical_solution
WRONG = "    return True\n"
TIMEOUT = 1.0


@dataclass
class Host:
    box: Sandbox
    canary_dir: Path
    canaries: dict[Path, tuple[bytes, int]]
    tcp: socket.socket
    udp: socket.socket
    unix: socket.socket
    abstract: socket.socket
    abstract_name: str


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    saved = dict(os.environ)
    os.environ.update(
        SECRET_KEY=SECRET,
        DATABASE_URL=f"postgres://leaderboard:{SECRET}@127.0.0.1/leaderboard",
        CELERY_BROKER_URL=f"redis://:{SECRET}@127.0.0.1:6379/0",
    )
    canary_dir = tmp_path_factory.mktemp("canary")
    canary_dir.chmod(0o755)
    canaries = {}
    for name in ("secret.txt", "results.json"):
        path = canary_dir / name
        path.write_bytes(f"{SECRET} {name}".encode())
        path.chmod(0o666)  # writable by anyone: only the sandbox keeps samples away
        canaries[path] = (path.read_bytes(), path.stat().st_mtime_ns)
    tcp = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(str(canary_dir / "broker.sock"))
    unix.listen()
    abstract_name = f"\0sandbox-canary-{os.getpid()}"
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind(abstract_name)
    abstract.listen()
    for listener in (tcp, udp, unix, abstract):
        listener.setblocking(False)
    try:
        with Sandbox(workers=2, memory_mb=512, file_mb=8, tmp_mb=16, rerun_timeouts="never") as box:
            yield Host(box, canary_dir, canaries, tcp, udp, unix, abstract, abstract_name)
    finally:
        for listener in (tcp, udp, unix, abstract):
            listener.close()
        os.environ.clear()
        os.environ.update(saved)


def humaneval_job(completion: str, after: str = "", timeout: float = TIMEOUT) -> Job:
    """A HumanEval/0 sample: the completion, then top-level code the model appended."""
    return Job(
        program=PROBLEM.prompt + completion + textwrap.dedent(after),
        test=PROBLEM.test,
        entry_point=PROBLEM.entry_point,
        prompt=PROBLEM.prompt,
        timeout=timeout,
    )


def script(source: str, stdin: str = "", timeout: float = TIMEOUT) -> Job:
    return Job(program=textwrap.dedent(source), stdin=stdin, timeout=timeout)


def both_modes(
    cases: dict[str, str], before: str, after: str = "", timeout: float = TIMEOUT, at_import: bool = False
) -> dict[str, Job]:
    """Each case (a function body) in HumanEval's mode, in the candidate before its correct body (or,
    `at_import`, at the top level of the program), and in script mode, in the main function of a
    program that reads two numbers (its input: "1 2"), between `before` and `after`."""
    jobs = {}
    for name, body in cases.items():
        if at_import:
            jobs[f"{name}, HumanEval"] = humaneval_job(CORRECT, textwrap.dedent(body), timeout=timeout)
        else:
            jobs[f"{name}, HumanEval"] = humaneval_job(body + CORRECT, timeout=timeout)
        program = "def main():\n" + before + body + after + "\n\nmain()\n"
        jobs[f"{name}, script"] = Job(program=program, stdin="1 2\n", timeout=timeout)
    return jobs


def sample_processes(box: Sandbox) -> list[int]:
    """Processes still running as one of this sandbox's sample uids, or in its slots' cgroups
    besides the zygotes (other sandboxes on the host use other uids and cgroups)."""
    uids = {box._slot_config(slot.index)["uid"] for slot in box.slots}
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
            if uid in uids:
                found.append(int(entry))
    for slot in box.slots:
        zygote = int(
            Path(f"/proc/{slot.process.pid}/task/{slot.process.pid}/children").read_text().split()[0]
        )
        for cgroup in Path("/sys/fs/cgroup").glob(
            f"*/**/sandbox-{slot.process.pid}-{slot.index}/cgroup.procs"
        ):
            found += [pid for pid in map(int, cgroup.read_text().split()) if pid != zygote]
    return found


def received(host: Host) -> list[str]:
    events = []
    for name, listener in (("tcp", host.tcp), ("unix", host.unix), ("abstract", host.abstract)):
        try:
            connection, _ = listener.accept()
            connection.close()
            events.append(name)
        except BlockingIOError:
            pass
    try:
        host.udp.recv(100)
        events.append("udp")
    except BlockingIOError:
        pass
    return events


def judge(host: Host, job: Job) -> Outcome:
    """Run the hostile job next to a correct and a wrong sample, then check the host."""
    slots = [slot.process.pid for slot in host.box.slots]
    jobs = [job, humaneval_job(CORRECT), humaneval_job(WRONG)]
    outcomes: list[Outcome] = [None] * 3  # type: ignore[list-item]
    for index, outcome in host.box.run(jobs):
        outcomes[index] = outcome
    hostile, correct, wrong = outcomes
    assert (correct.status, wrong.status) == ("passed", "failed"), "the executor is no longer right"
    assert sample_processes(host.box) == [], "processes of a sample outlived it"
    for path, (content, mtime) in host.canaries.items():
        assert path.read_bytes() == content and path.stat().st_mtime_ns == mtime, f"{path} was touched"
    assert sorted(os.listdir(host.canary_dir)) == ["broker.sock", "results.json", "secret.txt"]
    assert received(host) == [], "a listener on the host received something"
    for text in (hostile.stdout, hostile.stderr, hostile.detail, repr(hostile.returned)):
        assert SECRET not in text, "a secret of the parent reached the sample"
    assert [slot.process.pid for slot in host.box.slots] == slots, "a slot had to be restarted"
    assert all(slot.process.poll() is None for slot in host.box.slots)
    return hostile


# --- time ------------------------------------------------------------------------------------------
TIMEOUTS = {
    "infinite loop": humaneval_job(CORRECT, "while True:\n    pass\n"),
    "C-level sum": humaneval_job(CORRECT, "sum(range(10 ** 14))\n"),
    "C-level power": humaneval_job(CORRECT, "10 ** 10 ** 10\n"),
    "C-level product": humaneval_job(
        CORRECT,
        "import collections, itertools\n"
        "collections.deque(itertools.product(range(10 ** 4), repeat=4), maxlen=0)\n",
    ),
    "sleeping": humaneval_job(CORRECT, "import time\ntime.sleep(60)\n"),
    "sleeping in the candidate": humaneval_job("    import time\n    time.sleep(60)\n"),
    "fork bomb": humaneval_job(
        CORRECT, "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    ),
    "signals blocked and ignored": humaneval_job(
        CORRECT,
        """
        import signal
        signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals))
        for s in signal.Signals:
            try:
                signal.signal(s, signal.SIG_IGN)
            except (OSError, ValueError, RuntimeError):
                pass
        while True:
            pass
        """,
    ),
    "thread storm": humaneval_job(
        CORRECT,
        """
        import threading
        def spin():
            while True:
                pass
        for _ in range(1000):
            try:
                threading.Thread(target=spin, daemon=True).start()
            except RuntimeError:
                break
        spin()
        """,
    ),
}


@pytest.mark.parametrize("job", TIMEOUTS.values(), ids=TIMEOUTS.keys())
def test_time_limit_is_enforced_from_outside(host, job):
    outcome = judge(host, job)
    if job is TIMEOUTS["C-level power"]:
        assert outcome.status in ("timeout", "oom")
    else:
        assert outcome.status == "timeout", outcome.detail
    # Never before its limit; at the latest at the cap for a sample kept off the CPU by a loaded host.
    assert TIMEOUT <= outcome.wall_time <= TIMEOUT * STARVED_CAP + 0.5


# --- resources -------------------------------------------------------------------------------------
OOM_TIMEOUT = 10.0  # far above what any of these needs to reach 512 MiB: they must end well before it
MEMORY_HOGS = both_modes(
    {
        "one huge bytearray": "    data = bytearray(10 ** 12)\n",
        "one huge list": "    data = [0] * 10 ** 10\n",
        "one allocation of 4x the limit": "    data = bytearray(2 * 2 ** 30)\n",
        "one allocation just over the limit": "    data = bytearray(600 * 2 ** 20)\n",
        "a growing list": "    data = []\n    while True:\n        data.append([0] * 4096)\n",
        "a growing str": "    text = ''\n    while True:\n        text += 'x' * 65536\n",
        "a growing bytearray": "    data = bytearray()\n    while True:\n        data += b'x' * 65536\n",
        "growth in a thread": (
            "    import threading\n"
            "    def grow():\n"
            "        chunks = []\n"
            "        while True:\n"
            "            chunks.append(bytearray(2 ** 20))\n"
            "    worker = threading.Thread(target=grow)\n"
            "    worker.start()\n"
            "    worker.join()\n"
        ),
        # The OOM killer takes the child; the parent goes on to a correct answer.
        "growth in a child process": (
            "    import os\n"
            "    child = os.fork()\n"
            "    if child == 0:\n"
            "        chunks = []\n"
            "        while True:\n"
            "            chunks.append(bytearray(2 ** 20))\n"
            "    os.waitpid(child, 0)\n"
        ),
    },
    before="    total = sum(map(int, input().split()))\n",
    after="    print(total)\n",
    timeout=OOM_TIMEOUT,
)
# A pool whose worker the OOM killer took waits for it for ever: only the memory cgroup's event ends it.
MEMORY_HOGS["growth in a pool worker, script"] = script(
    """
    from multiprocessing import Pool
    def grow(_):
        chunks = []
        while True:
            chunks.append(bytearray(2 ** 20))
    if __name__ == '__main__':
        with Pool(1) as pool:
            pool.map(grow, [0])
    """,
    timeout=OOM_TIMEOUT,
)


@pytest.mark.parametrize("job", MEMORY_HOGS.values(), ids=MEMORY_HOGS.keys())
def test_running_out_of_memory_fails_at_once(host, job):
    outcome = judge(host, job)
    assert (outcome.status, outcome.verdict) == ("oom", "failed"), outcome.detail
    assert outcome.detail.startswith("out of memory (limit 512 MiB)")
    assert outcome.wall_time < OOM_TIMEOUT / 2, "reported only when its time ran out"


def test_a_memory_error_the_program_catches_is_its_own_business(host):
    job = humaneval_job(
        "    try:\n        bytearray(10 ** 12)\n    except MemoryError:\n        pass\n" + CORRECT
    )
    assert judge(host, job).status == "passed"


def test_huge_output_is_bounded(host):
    outcome = judge(host, script("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n"))
    assert outcome.status == "failed" and "File too large" in outcome.detail
    assert 0 < len(outcome.stdout) <= 8 << 20


def test_output_flood_in_a_humaneval_sample_does_not_help(host):
    outcome = judge(
        host, humaneval_job("    for _ in range(2000):\n        print('passed ' * 10000)\n    return True\n")
    )
    assert outcome.status == "failed"


def test_one_huge_file_is_bounded(host):
    outcome = judge(host, script("open('/tmp/big', 'wb').write(b'0' * (64 << 20))\n"))
    assert outcome.status == "failed" and "File too large" in outcome.detail


def test_filling_the_disk_stops_at_the_sample_tmpfs(host):
    outcome = judge(
        host,
        script(
            """
            i = 0
            while True:
                with open(f'/tmp/fill{i}', 'wb') as f:
                    f.write(b'0' * (1 << 20))
                i += 1
            """
        ),
    )
    assert outcome.status == "failed" and "No space left on device" in outcome.detail


def test_too_many_open_files(host):
    outcome = judge(
        host, humaneval_job("    files = [open('/dev/null') for _ in range(10 ** 6)]\n    return True\n")
    )
    assert outcome.status == "failed" and "Too many open files" in outcome.detail


# --- files, environment, network -------------------------------------------------------------------
def test_deleting_host_files_fails(host):
    paths = [str(path) for path in host.canaries] + [str(host.canary_dir)]
    outcome = judge(
        host,
        script(
            f"""
            import os, shutil, sys
            for path in {paths!r}:
                for remove in (os.remove, shutil.rmtree):
                    try:
                        remove(path)
                        print('removed', path)
                    except OSError as error:
                        print(type(error).__name__)
            for path in (sys.executable, '/usr/bin/env', '/etc/passwd'):
                try:
                    os.remove(path)
                    print('removed', path)
                except OSError as error:
                    print(type(error).__name__)
            """
        ),
    )
    assert outcome.status == "passed" and "removed" not in outcome.stdout


def test_reading_host_files_finds_nothing(host):
    paths = [str(path) for path in host.canaries] + ["/etc/shadow", "/root/.bashrc", "/proc/1/environ"]
    paths += [f"/proc/{os.getpid()}/environ", str(Path(__file__).resolve()), "/work/main/db.sqlite3"]
    outcome = judge(
        host,
        script(
            f"""
            import os
            for path in {paths!r}:
                try:
                    print(path, open(path, 'rb').read()[:200])
                except OSError as error:
                    print(path, type(error).__name__)
            for pid in os.listdir('/proc'):
                if pid.isdigit():
                    for name in ('environ', 'cmdline'):
                        try:
                            print(pid, open(f'/proc/{{pid}}/{{name}}', 'rb').read())
                        except OSError:
                            pass
            """
        ),
    )
    assert outcome.status == "passed"
    assert "b'" + SECRET not in outcome.stdout


def test_environment_is_scrubbed(host):
    outcome = judge(host, script("import os\nprint(sorted(os.environ.items()))\n"))
    assert outcome.status == "passed"
    assert outcome.stdout.startswith("[('HOME', '/tmp'), ('LANG', 'C.UTF-8'), ('PATH',")
    for name in ("SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"):
        assert name not in outcome.stdout


def test_sockets_reach_nothing(host):
    tcp_port, udp_port = host.tcp.getsockname()[1], host.udp.getsockname()[1]
    outcome = judge(
        host,
        script(
            f"""
            import socket
            attempts = [
                (socket.AF_INET, socket.SOCK_STREAM, ('127.0.0.1', {tcp_port})),
                (socket.AF_INET, socket.SOCK_STREAM, ('1.1.1.1', 80)),
                (socket.AF_INET6, socket.SOCK_STREAM, ('::1', {tcp_port})),
                (socket.AF_UNIX, socket.SOCK_STREAM, {str(host.canary_dir / "broker.sock")!r}),
                (socket.AF_UNIX, socket.SOCK_STREAM, {host.abstract_name!r}),
            ]
            for family, kind, address in attempts:
                try:
                    with socket.socket(family, kind) as s:
                        s.settimeout(0.2)
                        s.connect(address)
                        print('connected', address)
                except OSError as error:
                    print(type(error).__name__)
            try:
                socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('127.0.0.1', {udp_port}))
                print('sent')
            except OSError as error:
                print(type(error).__name__)
            try:
                socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
                print('raw socket')
            except OSError as error:
                print(type(error).__name__)
            """
        ),
    )
    assert outcome.status == "passed"
    assert (
        "connected" not in outcome.stdout
        and "sent" not in outcome.stdout
        and "raw socket" not in outcome.stdout
    )


def test_privileged_calls_are_refused(host):
    outcome = judge(
        host,
        script(
            """
            import ctypes, os
            libc = ctypes.CDLL(None, use_errno=True)
            results = {}
            results['unshare user'] = libc.unshare(0x10000000)
            results['unshare net'] = libc.unshare(0x40000000)
            results['mount'] = libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)
            results['ptrace'] = libc.ptrace(16, 1, 0, 0)
            results['settimeofday'] = libc.settimeofday(ctypes.byref(ctypes.c_long(0)), None)
            for name, call in (('setuid', lambda: os.setuid(0)), ('chroot', lambda: os.chroot('/tmp'))):
                try:
                    call()
                    results[name] = 0
                except OSError:
                    results[name] = -1
            try:
                open('/proc/sysrq-trigger', 'w').write('h')
                results['sysrq'] = 0
            except OSError:
                results['sysrq'] = -1
            print(sorted(results.items()))
            print(os.popen('id').read())
            """
        ),
    )
    assert outcome.status == "passed"
    assert " 0)" not in outcome.stdout.splitlines()[0], outcome.stdout
    assert "uid=0" not in outcome.stdout and "groups=0" not in outcome.stdout


def test_a_sample_cannot_signal_processes_outside(host):
    outcome = judge(
        host,
        humaneval_job(
            WRONG,
            f"""
            import os, signal
            for pid in [os.getppid(), 1, -1, {os.getpid()}] + list(range(2, 400)):
                for sig in (signal.SIGKILL, signal.SIGSTOP):
                    try:
                        os.kill(pid, sig)
                    except OSError:
                        pass
            """,
        ),
    )
    assert outcome.status in ("failed", "crashed")


# --- exits, streams, crashes -----------------------------------------------------------------------
EARLY_EXITS = {
    "exit() at import": humaneval_job(WRONG, "exit()\n"),
    "quit() at import": humaneval_job(WRONG, "quit()\n"),
    "sys.exit(0) at import": humaneval_job(WRONG, "import sys\nsys.exit(0)\n"),
    "os._exit(0) at import": humaneval_job(WRONG, "import os\nos._exit(0)\n"),
    "SystemExit in the candidate": humaneval_job("    raise SystemExit(0)\n"),
    "os._exit(0) in the candidate": humaneval_job("    import os\n    os._exit(0)\n"),
    "KeyboardInterrupt in the candidate": humaneval_job("    raise KeyboardInterrupt\n"),
    "SIGKILL to itself": humaneval_job("    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)\n"),
    "killing its process group": humaneval_job("    import os, signal\n    os.killpg(0, signal.SIGKILL)\n"),
}


@pytest.mark.parametrize("job", EARLY_EXITS.values(), ids=EARLY_EXITS.keys())
def test_early_exits_never_pass(host, job):
    outcome = judge(host, job)
    assert outcome.status in ("failed", "crashed"), outcome
    assert outcome.verdict == "failed"


# Correct programs that close what was theirs to close: they pass (the channel to the sandbox is none
# of their standard streams). In script mode the sum is printed, and flushed, before.
CLOSED_STREAMS = both_modes(
    {
        "os.close(0)": "    import os\n    os.close(0)\n",
        "os.close(1)": "    import os\n    os.close(1)\n",
        "os.close(2)": "    import os\n    os.close(2)\n",
        "sys.stdout.close()": "    import sys\n    sys.stdout.close()\n",
        "0, 1 and 2 closed": "    import os\n    for fd in (0, 1, 2):\n        os.close(fd)\n",
        "3 to 63 closed": (
            "    import os\n"
            "    for fd in range(3, 64):\n"
            "        try:\n"
            "            os.close(fd)\n"
            "        except OSError:\n"
            "            pass\n"
        ),
    },
    before="    print(sum(map(int, input().split())), flush=True)\n",
    at_import=True,
)


@pytest.mark.parametrize("job", CLOSED_STREAMS.values(), ids=CLOSED_STREAMS.keys())
def test_closing_its_standard_streams_is_the_program_own_business(host, job):
    outcome = judge(host, job)
    assert outcome.status == "passed", outcome.detail
    assert outcome.stdout == ("3\n" if job.stdin is not None else "")


def test_printing_after_closing_standard_streams(host):
    """In HumanEval's mode output is not the result: what the program writes to a stream it closed is
    lost (the reference swallows all of it). In script mode it is the result, and the program fails
    as under `python program.py` (an error from print, or exit status 120 when flushing at exit)."""
    writer = "    import sys\n    print('x' * 100000)\n    print('y' * 100000, file=sys.stderr)\n"
    closed = judge(host, humaneval_job(writer + CORRECT, "import os\nos.close(1)\nos.close(2)\n"))
    assert closed.status == "passed", closed.detail
    for source in ("import os\nos.close(1)\nprint('x')\n", "import os\nos.close(1)\nprint('x' * 100000)\n"):
        outcome = judge(host, script(source))
        assert outcome.status == "failed" and "Bad file descriptor" in outcome.detail, outcome.detail


CLOSE_EVERYTHING = "import os\nos.closerange(0, 65536)\n"
UNREPORTED = {
    "correct, then everything closed": humaneval_job(CORRECT, CLOSE_EVERYTHING),
    "wrong, then everything closed": humaneval_job(WRONG, CLOSE_EVERYTHING),
    "everything closed in the candidate": humaneval_job(
        "    import os\n    os.closerange(0, 65536)\n" + CORRECT
    ),
    "script that closes everything": script(CLOSE_EVERYTHING),
    "script that closes everything, then raises": script(CLOSE_EVERYTHING + "raise ValueError\n"),
    "script that closes everything, then exits 1": script(CLOSE_EVERYTHING + "raise SystemExit(1)\n"),
    "script that finds the channel and closes it, then raises": script(
        "import os\nos.close(max(map(int, os.listdir('/proc/self/fd'))))\nraise ValueError\n"
    ),
}


@pytest.mark.parametrize("job", UNREPORTED.values(), ids=UNREPORTED.keys())
def test_closing_the_channel_never_passes(host, job):
    outcome = judge(host, job)
    assert (outcome.status, outcome.verdict) == ("failed", "failed"), outcome.detail


def test_deep_recursion_through_c_crashes(host):
    """Python 3.11 keeps Python-to-Python calls off the C stack; through a C function (here
    lru_cache's wrapper) deep recursion overflows it, as in many competitive programs."""
    recursion = """
        import functools, sys
        sys.setrecursionlimit(10 ** 8)
        @functools.lru_cache(None)
        def depth(n):
            return 0 if n == 0 else depth(n - 1) + 1
        depth(10 ** 7)
        """
    outcome = judge(host, humaneval_job(CORRECT, recursion))
    assert (outcome.status, outcome.verdict) == ("crashed", "failed")
    assert "SIGSEGV" in outcome.detail


def test_segfault_through_ctypes_crashes(host):
    outcome = judge(host, humaneval_job(CORRECT, "import ctypes\nctypes.string_at(0)\n"))
    assert outcome.status == "crashed" and "signal 11" in outcome.detail


def test_daemon_threads_and_detached_children_die_with_the_sample(host):
    canary = next(iter(host.canaries))
    outcome = judge(
        host,
        humaneval_job(
            CORRECT,
            f"""
            import os, threading, time
            def linger():
                while True:
                    time.sleep(0.01)
            threading.Thread(target=linger, daemon=True).start()
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    time.sleep(2)
                    try:
                        open({str(canary)!r}, 'w').write('overwritten')
                    finally:
                        os._exit(0)
                os._exit(0)
            """,
        ),
    )
    assert outcome.status == "passed"
    assert sample_processes(host.box) == []


def test_output_that_is_not_utf8(host):
    outcome = judge(
        host,
        script(
            "import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe\\x00 \\xc3')\n"
            "sys.stderr.buffer.write(b'\\xff')\n"
        ),
    )
    assert outcome.status == "passed"
    assert outcome.stdout == "ok \ufffd\ufffd\x00 \ufffd"


# --- forging a verdict, reaching into the harness ---------------------------------------------------
def test_printing_a_result_and_writing_a_fake_record(host):
    outcome = judge(
        host,
        humaneval_job(
            WRONG,
            """
            import os, struct
            print('passed')
            print('{"status": "passed"}')
            channel = max(map(int, os.listdir('/proc/self/fd')))
            for message in (b'S', b'Y', b'P', b'R' + b'true'):
                os.write(channel, struct.pack('!I', len(message)) + message)
            os._exit(0)
            """,
        ),
    )
    assert outcome.status == "failed"


def test_walking_frames_and_gc_finds_no_test(host):
    outcome = judge(
        host,
        humaneval_job(
            """
    import gc, sys
    frame, seen = sys._getframe(), []
    while frame is not None:
        for name in ('check', 'candidate'):
            if name in frame.f_globals:
                frame.f_globals[name] = lambda *args: True
        seen.append(frame.f_code.co_name)
        frame = frame.f_back
    leaked = [o for o in gc.get_objects() if isinstance(o, str) and 'assert candidate' in o]
    if leaked:
        return leaked
    return True
""",
        ),
    )
    assert outcome.status == "failed"


def test_patching_the_harness_does_not_help(host):
    outcome = judge(
        host,
        humaneval_job(
            WRONG,
            """
            import sys
            for name, module in list(sys.modules.items()):
                if name.startswith('evaluation'):
                    for attribute in ('encode', 'describe'):
                        if hasattr(module, attribute):
                            setattr(module, attribute, lambda *args, **kwargs: b'true')
            """,
        ),
    )
    assert outcome.status == "failed"


def test_objects_equal_to_everything_are_refused(host):
    always = judge(
        host,
        humaneval_job(
            "    class Anything:\n        def __eq__(self, other):\n            return True\n"
            "    return Anything()\n"
        ),
    )
    assert always.status == "failed" and "not plain data" in always.detail
    subclass = judge(
        host,
        humaneval_job(
            "    class Yes(int):\n        def __eq__(self, other):\n            return True\n"
            "    return Yes(1)\n"
        ),
    )
    assert subclass.status == "failed" and subclass.detail == "AssertionError"


def test_huge_return_value_is_refused(host):
    outcome = judge(host, humaneval_job("    return 'x' * (100 << 20)\n"))
    assert outcome.status == "failed" and "exceeds" in outcome.detail


def test_each_sample_gets_an_empty_private_tmp(host):
    writer = script("import os\nopen('/tmp/leak', 'w').write('earlier')\nprint(sorted(os.listdir('/tmp')))\n")
    reader = script("import os\nprint(sorted(os.listdir('/tmp')))\n")
    outcomes = run_jobs([writer, reader, writer, reader], workers=1)
    # A checkout under /tmp shows its interpreter's prefix there, read-only; nothing else is shared.
    own = sorted({path.split("/")[2] for path in interpreter_dirs() if path.startswith("/tmp/")})
    fresh, written = str(own), str(sorted([*own, "leak"]))
    assert [o.stdout for o in outcomes] == [f"{written}\n", f"{fresh}\n", f"{written}\n", f"{fresh}\n"]
    judge(host, reader)


def test_ipc_objects_do_not_outlive_their_sample(host):
    """A sample could leave a System V segment (say, a correct answer) for the next sample of its
    slot; each sample has an IPC namespace of its own."""
    shared_memory = """
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmat.restype = ctypes.c_void_p
        segment = libc.shmget(0x5EED, 4096, {flags})
        if segment < 0:
            print('absent')
        else:
            address = libc.shmat(segment, None, 0)
            {action}
        """
    writer = script(shared_memory.format(flags="0o1600", action="ctypes.memmove(address, b'answer', 6)"))
    reader = script(shared_memory.format(flags="0", action="print(ctypes.string_at(address, 6))"))
    outcomes = run_jobs([writer, reader, writer, reader], workers=1)
    assert [o.stdout for o in outcomes] == ["", "absent\n", "", "absent\n"], [o.detail for o in outcomes]
    judge(host, reader)


def test_inline_mode_trusts_the_sample_record_strict_mode_does_not(host):
    """The reason strict is the default: in inline mode the test runs inside the sample's process,
    so a sample can write the harness's own success record. Strict mode ignores it (above)."""
    forged = humaneval_job(
        WRONG,
        "import os\nchannel = max(map(int, os.listdir('/proc/self/fd')))\n"
        "os.write(channel, b'\\x00\\x00\\x00\\x01P')\nos._exit(0)\n",
    )
    (inline,) = run_jobs([forged], workers=1, strict=False)
    assert (inline.mode, inline.status) == ("inline", "passed")
    assert judge(host, forged).status == "failed"
