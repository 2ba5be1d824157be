"""Backpack request signing: ED25519 over the instruction string, with timestamp windows.

The server rebuilds the signing string from its own instruction table and every parameter it
received (unknown ones included), then accepts the first candidate rendering that verifies:

1. raw values;
2. values percent-encoded as ccxt signs them (RFC 3986 reserved characters escaped, ``/`` kept);
3. query booleans ``True``/``False`` lowercased (bpx-py and the SDK sign ``true`` but send ``True``);
4. repeated query keys joined with commas (the TypeScript client's arrays).

Body numbers are rendered from their literal JSON token text (``payload.parse_json`` keeps it).
A timestamp older than its window (``now > ts + window``), a window above 60 s, or a timestamp
more than ``MAX_FUTURE_MS`` ahead of the server clock is refused. Parameters the signing string
cannot carry unambiguously (``&`` in a key or value, ``=`` in a key, a key ``instruction``) are
refused with a 400 before any signature is checked (:func:`check_signable`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import quote

import nacl.exceptions
import nacl.signing

from rucksack.exchange.api.errors import ApiError, bad_request, unauthorized

DEFAULT_WINDOW_MS = 5000
MAX_WINDOW_MS = 60_000
MAX_FUTURE_MS = 5_000


def render(value: Any) -> str | None:
    """How a parameter value appears in the signing string (None: left out)."""
    if value is None:
        return None
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return str(value)
    return json.dumps(value, separators=(",", ":"))


def check_signable(params: Sequence[tuple[str, Any]] | list[dict[str, Any]]) -> None:
    """Refuse what the signing string cannot carry unambiguously (a 400, before any signature check).

    Backpack joins ``key=value`` pairs with ``&`` and escapes nothing, so ``{label: "x&zz=d"}`` and
    ``{label: "x", zz: "d"}`` would sign the same string. The string reads back to exactly one
    parameter set when no key holds ``&`` or ``=`` or is ``instruction`` (which starts each order
    of a batch) and no rendered value holds ``&``. A value may hold ``=``: a pair's first ``=``
    ends its key, and base64 public keys end in ``=``.
    """
    if params and isinstance(params[0], dict):  # a batch: each order's pairs
        groups: list[Sequence[tuple[str, Any]]] = [list(order.items()) for order in params]  # type: ignore[union-attr]
    else:
        groups = [params]  # type: ignore[list-item]
    for pairs in groups:
        for key, value in pairs:
            if "&" in key or "=" in key or key == "instruction":
                raise bad_request(f"parameter name {key[:40]!r} cannot be signed: no '&', '=' or 'instruction'")
            rendered = render(value)
            if rendered is not None and "&" in rendered:
                raise bad_request(f"parameter {key[:40]!r} cannot be signed: its value holds '&'")


def _join(instruction: str, pairs: Iterable[tuple[str, str]]) -> str:
    out = "instruction=" + instruction
    for key, value in sorted(pairs):
        out += f"&{key}={value}"
    return out


def candidates(
    instruction: str,
    params: Sequence[tuple[str, Any]] | list[dict[str, Any]],
    timestamp: str,
    window: str,
    *,
    from_query: bool,
) -> Iterator[bytes]:
    """Every signing string a legitimate client could have produced for these parameters, each
    once, most likely first; rendered lazily (most requests verify against the first)."""
    suffix = f"&timestamp={timestamp}&window={window}"
    seen: set[str] = set()
    for variant in _variants(instruction, params, from_query=from_query):
        if variant not in seen:
            seen.add(variant)
            yield (variant + suffix).encode()


def _variants(
    instruction: str, params: Sequence[tuple[str, Any]] | list[dict[str, Any]], *, from_query: bool
) -> Iterator[str]:
    """The renderings :func:`candidates` tries, in order (see the module docstring)."""
    if isinstance(params, list) and params and isinstance(params[0], dict):  # batch body
        for encode in (False, True):
            parts = []
            for order in params:
                pairs = [(k, r) for k, v in order.items() if (r := render(v)) is not None]
                if encode:
                    pairs = [(k, quote(v, safe="/")) for k, v in pairs]
                parts.append(_join(instruction, pairs))
            yield "&".join(parts)
        return
    rendered = [(k, r) for k, v in params if (r := render(v)) is not None]
    yield _join(instruction, rendered) if rendered else "instruction=" + instruction
    yield _join(instruction, [(k, quote(v, safe="/")) for k, v in rendered])
    if from_query:
        lowered = [(k, v.lower() if v in ("True", "False") else v) for k, v in rendered]
        yield _join(instruction, lowered)
        merged: dict[str, list[str]] = {}
        for k, v in lowered:
            merged.setdefault(k, []).append(v)
        yield _join(instruction, [(k, ",".join(vs)) for k, vs in merged.items()])


class Verifier:
    """Checks headers, window and signature; caches decoded verify keys."""

    def __init__(self) -> None:
        self._keys: dict[str, nacl.signing.VerifyKey] = {}

    def verify_key(self, api_key: str) -> nacl.signing.VerifyKey:
        key = self._keys.get(api_key)
        if key is None:
            try:
                raw = base64.b64decode(api_key, validate=True)
                key = nacl.signing.VerifyKey(raw)
            except (binascii.Error, ValueError, nacl.exceptions.ValueError) as exc:
                raise unauthorized("Invalid API key") from exc
            self._keys[api_key] = key
        return key

    def check(
        self,
        api_key: str,
        signature: str,
        timestamp: str,
        window: str | None,
        now_ms: int,
        instruction: str,
        params: Any,
        *,
        from_query: bool,
    ) -> None:
        ts = _int_header(timestamp, "X-Timestamp")
        win_text = window if window is not None else str(DEFAULT_WINDOW_MS)
        win = _int_header(win_text, "X-Window")
        if win <= 0 or win > MAX_WINDOW_MS:
            raise bad_request(f"X-Window must be between 1 and {MAX_WINDOW_MS}")
        if now_ms > ts + win:
            raise unauthorized("Request has expired")
        if ts > now_ms + MAX_FUTURE_MS:
            raise unauthorized("Request timestamp is too far in the future")
        try:
            sig = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise unauthorized("Invalid signature encoding", "INVALID_SIGNATURE") from exc
        if len(sig) != 64:
            raise unauthorized("Invalid signature", "INVALID_SIGNATURE")
        check_signable(params)
        key = self.verify_key(api_key)
        for payload in candidates(instruction, params, timestamp, win_text, from_query=from_query):
            try:
                key.verify(payload, sig)
                return
            except nacl.exceptions.BadSignatureError:
                continue
        raise unauthorized("Invalid signature", "INVALID_SIGNATURE")


def _int_header(text: str, name: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ApiError(400, "INVALID_CLIENT_REQUEST", f"{name} must be a whole number of milliseconds")
    return int(text)


def sign(secret_b64: str, message: bytes) -> str:
    """Sign like a client (used by our CLI and tests): base64 ED25519 signature."""
    seed = base64.b64decode(secret_b64)[:32]
    return base64.b64encode(nacl.signing.SigningKey(seed).sign(message).signature).decode()


def new_keypair() -> tuple[str, str]:
    """(api key, api secret) in Backpack's format: base64 public key and base64 32-byte seed."""
    key = nacl.signing.SigningKey.generate()
    return base64.b64encode(bytes(key.verify_key)).decode(), base64.b64encode(bytes(key)).decode()
