"""Untrusted JSON in: request bodies and WebSocket text frames, checked before and after parsing.

Invariants:

- nothing nested deeper than ``MAX_DEPTH`` arrays/objects reaches a JSON parser: the depth is
  measured by a byte scan of brackets outside string literals (a C-speed, linear scan: strings
  are cut out with one regular expression, the rest reduced to its brackets), so no parser ever recurses
  on attacker-chosen depth, whatever the process's recursion limit;
- JSON numbers are kept as their literal token text (:class:`Num`), so the signing string uses
  exactly what the client sent and no float ever appears;
- ``NaN``/``Infinity`` and lone UTF-16 surrogates (``"\\ud800"``, which no UTF-8 text can carry and
  which would fail later when the string is encoded) are refused;
- a body is UTF-8 (a BOM is skipped; JSON's UTF-16/32 auto-detection is not offered);
- every refusal is a 400 ``INVALID_CLIENT_REQUEST``. WebSocket frames use :func:`too_deep` before
  msgspec, which refuses lone surrogates itself; there a refusal is a 4000 error frame.

Cost: the scan runs only when a payload holds more than ``MAX_DEPTH`` brackets at all, and takes
about 25 ms for a 256 KiB body (the body cap), comparable to parsing it.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from rucksack.exchange.api.errors import bad_request

MAX_DEPTH = 64  # Backpack's deepest payload (a batch of orders) is 2 levels deep

# a JSON string literal: quote, runs of ordinary bytes or escape pairs, then the closing quote or
# the end of the payload. Letting an unterminated string run to the end keeps the scan linear:
# with only complete strings matching, each later quote of `"\"\"\"...` (no closing quote) started
# a fresh attempt that ran to the end and failed, quadratic in the payload (a 24 KB body held the
# event loop for 10 s). What follows an unterminated string is inside it for any parser too.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1
_SURROGATE = re.compile("[\ud800-\udfff]")


class Num(str):
    """A JSON number kept as its literal token text."""


def too_deep(text: str) -> bool:
    """Whether ``text`` nests arrays/objects deeper than ``MAX_DEPTH`` (brackets inside string
    literals do not count, nor do those after an unterminated string, which a parser reads as
    part of it; the scan is one linear pass).
    Exact on UTF-8: no byte of a multi-byte sequence is an ASCII quote, backslash or bracket."""
    raw = text.encode("utf-8", "surrogatepass")
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return False
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > MAX_DEPTH


def parse_json(body: bytes | str) -> Any:
    """Decode an untrusted UTF-8 JSON payload under the invariants above, or raise a 400 ``ApiError``."""
    try:
        text = body.decode("utf-8-sig") if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        raise bad_request(f"parse request payload error: not UTF-8: {exc}") from exc
    if too_deep(text):
        raise bad_request(f"parse request payload error: nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, parse_int=Num, parse_float=Num, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise bad_request(f"parse request payload error: {exc}") from exc
    if "\\u" in text and _has_surrogate(value):
        raise bad_request("parse request payload error: lone UTF-16 surrogate in a string")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def _has_surrogate(value: Any) -> bool:
    """Whether any key or string in ``value`` holds a surrogate code point (depth <= MAX_DEPTH)."""
    if isinstance(value, str):
        return _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False
