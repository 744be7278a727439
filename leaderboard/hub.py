"""What a submission's model location says about the model: its kind and its parameter count.

The count is read, best first, from the safetensors headers of a local folder (exact), the
hub's model API (exact, when the hub is reachable), or estimated from `config.json`. Nothing
here is fatal: a failure is a `ModelInfoError` whose message the form shows as it is.
"""

from __future__ import annotations

import json
import re
import struct
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HUB_ID = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./-]{0,99}$")
SAFETENSORS_HEADER_LIMIT = 100 * 1024 * 1024


class ModelInfoError(ValueError):
    """A model location that cannot be used or read, with a message meant for its author."""


def check_hub_id(value: str) -> str:
    if not HUB_ID.match(value) or "--" in value or ".." in value or value.endswith((".", "-")):
        raise ModelInfoError(
            f"“{value}” is not a hub id: use owner/name with letters, digits, '-', '_' and '.', "
            "such as bigcode/santacoder, or an absolute path."
        )
    return value


def check_revision(value: str) -> str:
    if not REVISION.match(value) or ".." in value or value.endswith("/"):
        raise ModelInfoError(
            f"“{value}” is not a revision: give a branch, a tag or a commit hash (letters, digits, '-', "
            "'_', '.', '/')."
        )
    return value


def check_local_path(value: str, roots: list[str]) -> Path:
    """An absolute folder with a config.json, inside one of the folders the workers share."""
    path = Path(value)
    if not path.is_absolute():
        raise ModelInfoError(f"“{value}” is neither a hub id nor an absolute path.")
    resolved = path.resolve()
    allowed = [Path(root).resolve() for root in roots]
    if not any(resolved == root or root in resolved.parents for root in allowed):
        # The folders themselves are not named: the server's layout is not the visitor's business.
        raise ModelInfoError("Local models must lie in a folder the workers share: ask staff which.")
    if not (resolved / "config.json").is_file():
        raise ModelInfoError(f"There is no model folder with a config.json at {value}.")
    return resolved


def safetensors_parameters(folder: Path) -> int | None:
    """The exact number of parameters: the sum of tensor sizes in the safetensors headers."""
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for file in files:
        with file.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > SAFETENSORS_HEADER_LIMIT:
                raise ModelInfoError(f"{file.name} has an implausible header.")
            header = json.loads(handle.read(length))
        for name, tensor in header.items():
            if name == "__metadata__":
                continue
            size = 1
            for dimension in tensor["shape"]:
                size *= dimension
            total += size
    return total


def _first(config: dict, *names: str) -> int | None:
    for name in names:
        value = config.get(name)
        if isinstance(value, int) and value > 0:
            return value
    return None


def estimate_parameters(config: dict) -> int | None:
    """A decoder-only transformer's size from its config: embeddings, attention and MLP weights."""
    config = config.get("text_config", config)
    d = _first(config, "hidden_size", "n_embd", "d_model")
    layers = _first(config, "num_hidden_layers", "n_layer", "num_layers")
    vocab = _first(config, "vocab_size")
    if not (d and layers and vocab):
        return None
    heads = _first(config, "num_attention_heads", "n_head") or 1
    kv_heads = _first(config, "num_key_value_heads") or heads
    inner = _first(config, "intermediate_size", "n_inner", "ffn_dim") or 4 * d
    gated = config.get("hidden_act", config.get("activation_function", "")) in {"silu", "swiglu", "geglu"}
    attention = 2 * d * d + 2 * d * (d * kv_heads // heads)
    mlp = (3 if gated else 2) * d * inner
    embeddings = vocab * d * (1 if config.get("tie_word_embeddings", True) else 2)
    positions = (_first(config, "n_positions") or 0) * d
    return layers * (attention + mlp) + embeddings + positions


def local_parameters(folder: Path) -> tuple[int | None, str]:
    exact = safetensors_parameters(folder)
    if exact:
        return exact, "safetensors headers"
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as error:
        raise ModelInfoError(f"config.json could not be read: {error}") from None
    estimate = estimate_parameters(config)
    return estimate, "estimated from config.json" if estimate else ""


def _get_json(url: str, timeout: float) -> dict:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read(2_000_000))


def hub_parameters(hub_id: str, revision: str, hub_url: str, timeout: float) -> tuple[int | None, str]:
    """Ask the hub's model API, then its config.json; an unreachable hub is a clear error."""
    quoted = urllib.parse.quote(revision, safe="")
    base = hub_url.rstrip("/")
    try:
        info = _get_json(f"{base}/api/models/{hub_id}/revision/{quoted}", timeout)
        total = (info.get("safetensors") or {}).get("total")
        if isinstance(total, int) and total > 0:
            return total, "the hub's safetensors metadata"
        estimate = estimate_parameters(_get_json(f"{base}/{hub_id}/resolve/{quoted}/config.json", timeout))
        return estimate, "estimated from config.json on the hub" if estimate else ""
    except urllib.error.HTTPError as error:
        raise ModelInfoError(f"The hub answered {error.code} for {hub_id}@{revision}.") from None
    except (OSError, ValueError, AttributeError):
        raise ModelInfoError(f"The hub ({base}) could not be reached from this server.") from None
