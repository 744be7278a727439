"""The start-up self-test: a probe runs as an ordinary sample and reports what it can do from inside;
each isolation layer counts as working only once the probe has seen its effect.

It takes nothing from the slot but plain values, so that the controller can import `LAYERS` from
here without the slot's or the zygote's modules.
"""

from __future__ import annotations

import inspect
import os
import socket
from collections.abc import Collection, Sequence
from typing import Any

# Every layer the self-test checks; `Sandbox(require=...)` names them.
LAYERS = ("netns", "ipcns", "mountns", "pidns", "uid", "rlimits", "landlock", "seccomp", "cgroup")
# Where the host keeps what a sample must not see (the probe reports any of it that it finds).
HIDDEN = ("/root", "/home", "/work", "/var", "/run", "/sys", "/srv", "/opt", "/mnt", "/media", "/boot")


def probe_job(allowed: Sequence[str]) -> dict[str, Any]:
    """The probe as a script job: `allowed` are the directories a sample may see under HIDDEN (the
    interpreter's prefixes). It prints its facts as JSON."""
    code = (
        "from __future__ import annotations\nimport json, os, socket\n"
        + inspect.getsource(visible_outside)
        + inspect.getsource(probe)
        + f"print(json.dumps(probe({HIDDEN!r}, {list(allowed)!r})))\n"
    )
    return {"kind": "script", "program": code, "stdin": None, "timeout": 10.0}


def verify(
    facts: dict[str, Any],
    config: dict[str, Any],
    host_namespaces: dict[str, str],
    environment: Collection[str],
    cgroup: str,
) -> dict[str, str]:
    """Layer -> "" where the probe saw it work, else what the probe saw. `host_namespaces` are the
    slot's namespaces before it made its own, `environment` the variables a sample may have,
    `cgroup` the name of the slot's cgroups."""
    expected_limits = {
        "RLIMIT_DATA": [config["data_bytes"]] * 2,
        "RLIMIT_NPROC": [config["nproc"]] * 2,
        "RLIMIT_NOFILE": [config["nofile"]] * 2,
        "RLIMIT_FSIZE": [config["file_bytes"]] * 2,
        "RLIMIT_CORE": [0, 0],
    }
    checks = {
        "netns": (
            facts["namespaces"]["net"] != host_namespaces["net"]
            and facts["interfaces"] == ["lo"]
            and facts["connect"] != "connected",
            f"interfaces {facts['interfaces']}, TCP connect {facts['connect']}",
        ),
        "mountns": (
            facts["namespaces"]["mnt"] != host_namespaces["mnt"]
            and not facts["hidden"]
            and facts["root_write"] in ("EROFS", "EACCES")
            and facts["tmp_write"] == "ok",
            f"visible {facts['hidden']}; writing / gave {facts['root_write']}, /tmp {facts['tmp_write']}",
        ),
        "pidns": (
            facts["pid"] == 1
            and facts["others"] == []
            and facts["namespaces"]["pid"] != host_namespaces["pid"],
            f"pid {facts['pid']}, sees {facts['others']}",
        ),
        "uid": (
            facts["uid"] == config["uid"]
            and int(facts["cap_eff"], 16) == 0
            and set(facts["environ"]) <= set(environment),
            f"uid {facts['uid']}, capabilities {facts['cap_eff']}, environment {facts['environ']}",
        ),
        "rlimits": (facts["rlimits"] == expected_limits, f"limits {facts['rlimits']}"),
        "landlock": (facts["connect"] == "EACCES", f"TCP connect gave {facts['connect']}"),
        "seccomp": (facts["seccomp"] == "2" and facts["unshare"] == "EPERM", "no seccomp filter"),
        "cgroup": (
            bool(cgroup)
            and all(
                line.endswith("/" + cgroup)
                for line in facts["cgroup"]
                if ":memory:" in line or ":pids:" in line
            ),
            "sample outside its cgroups",
        ),
        "ipcns": (facts["namespaces"]["ipc"] != host_namespaces["ipc"], "the host's IPC namespace"),
    }
    return {layer: "" if ok else f"self-test: {why}" for layer, (ok, why) in checks.items()}


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
    names = ("RLIMIT_DATA", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_CORE")
    facts["rlimits"] = {name: list(resource.getrlimit(getattr(resource, name))) for name in names}
    facts["environ"] = sorted(os.environ)
    facts["namespaces"] = {
        name: os.readlink(f"/proc/self/ns/{name}") for name in ("ipc", "mnt", "net", "pid")
    }
    facts["others"] = sorted(
        int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != int(os.readlink("/proc/self"))
    )
    return facts
