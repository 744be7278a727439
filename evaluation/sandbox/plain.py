"""Plain data across the sandbox boundary: the only values a sample can hand to trusted code.

Accepted: None, bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset, nested
to MAX_DEPTH. The sample's side (`encode`) converts what it can (int/str/... subclasses, numpy
scalars) to those exact types; the trusted side (`decode`) builds values of exactly those types
from JSON and never calls code of the sample, so an object whose `__eq__` is always true cannot
reach a test. Everything is tagged, so tuples stay tuples and big ints stay exact.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

MAX_DEPTH = 200


class NotPlain(TypeError):
    """A value that is not plain data (a function, a custom object, a cycle, too deep)."""


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)  # json.dumps would build one per call


def encode(value: Any) -> bytes:
    return _ENCODER.encode(_to_json(value, 0)).encode()


def _to_json(value: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise NotPlain("value nested too deeply")
    if value is None or value is True or value is False:
        return value
    kind = type(value)
    if kind is str:
        return value
    if kind is int:
        return value if -(2**53) < value < 2**53 else ["i", format(value, "x")]
    if kind is float:
        return value if math.isfinite(value) else ["x", repr(value)]
    if kind is list:
        return ["l", *(_to_json(item, depth + 1) for item in value)]
    if kind is tuple:
        return ["t", *(_to_json(item, depth + 1) for item in value)]
    if kind is dict:
        out: list[Any] = ["d"]
        for key, item in value.items():
            out.append(_to_json(key, depth + 1))
            out.append(_to_json(item, depth + 1))
        return out
    if kind is set:
        return ["s", *(_to_json(item, depth + 1) for item in value)]
    if kind is frozenset:
        return ["f", *(_to_json(item, depth + 1) for item in value)]
    if kind is bytes:
        return ["b", base64.b64encode(value).decode()]
    if kind is complex:
        return ["c", _to_json(value.real, depth + 1), _to_json(value.imag, depth + 1)]
    return _to_json(_convert(value), depth + 1)


def _convert(value: Any) -> Any:
    """Subclasses and numpy scalars become their exact plain type; anything else is refused."""
    for base in (bool, int, float, complex, str, bytes):
        if isinstance(value, base):
            return base(value) if base is bool else getattr(base, f"__{base.__name__}__", base)(value)
    for base in (list, tuple, dict, set, frozenset):
        if isinstance(value, base):
            return base(value)
    item = getattr(type(value), "item", None)
    if type(value).__module__ == "numpy" and callable(item) and getattr(value, "ndim", None) == 0:
        converted = value.item()
        if type(converted) in (bool, int, float, complex, str, bytes):
            return converted
    raise NotPlain(f"{type(value).__module__}.{type(value).__qualname__} is not plain data")


def decode(data: bytes | str) -> Any:
    """Build exact plain values from `encode`'s output; raises ValueError on anything else."""
    try:
        tree = json.loads(data)
    except (RecursionError, UnicodeDecodeError) as error:
        raise ValueError(f"malformed plain data: {error}") from None
    return _from_json(tree, 0)


def _from_json(tree: Any, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError("plain data nested too deeply")
    kind = type(tree)
    if tree is None or kind in (bool, str, float):
        return tree
    if kind is int:
        return tree
    if kind is not list or not tree or type(tree[0]) is not str:
        raise ValueError("malformed plain data")
    tag, items = tree[0], tree[1:]
    if tag == "i" and len(items) == 1 and type(items[0]) is str:
        return int(items[0], 16)
    if tag == "x" and len(items) == 1 and items[0] in ("inf", "-inf", "nan"):
        return float(items[0])
    if tag == "b" and len(items) == 1 and type(items[0]) is str:
        return base64.b64decode(items[0], validate=True)
    if tag == "c" and len(items) == 2:
        real, imag = (_from_json(item, depth + 1) for item in items)
        if type(real) is not float or type(imag) is not float:
            raise ValueError("malformed complex")
        return complex(real, imag)
    values = [_from_json(item, depth + 1) for item in items]
    try:
        if tag == "l":
            return values
        if tag == "t":
            return tuple(values)
        if tag == "s":
            return set(values)
        if tag == "f":
            return frozenset(values)
        if tag == "d" and len(values) % 2 == 0:
            return dict(zip(values[0::2], values[1::2], strict=False))
    except TypeError as error:
        raise ValueError(f"malformed plain data: {error}") from None
    raise ValueError(f"malformed plain data (tag {tag!r})")
