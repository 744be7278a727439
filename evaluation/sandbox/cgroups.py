"""One slot's cgroups, created and removed by the slot process, which sees the host's /sys/fs/cgroup.

The zygote no longer sees it once it has its own root: it uses them through directory fds opened
before (`layers.join_cgroups`, `layers.read_counter`), and never imports this module.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path


class Cgroups:
    """One slot's cgroups: memory and pids limits, and cpuacct to measure the CPU time of a whole
    sample tree where the host has it (cgroup v1 controllers), created under the cgroups of the
    creating process. The zygote joins them through directory fds opened before it leaves the
    host's file system, and every sample it forks inherits them."""

    ROOT = Path("/sys/fs/cgroup")

    def __init__(self, name: str, memory_bytes: int, pids: int) -> None:
        self.name = name
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
