"""ED25519 signatures over published documents (snapshot.json, reserves.json). Stdlib + PyNaCl.

A published document is a JSON object with a ``signature`` field (hex, 64 bytes) and a
``public_key`` field (hex, 32 bytes). The signature covers every other field:

    message = "rucksack-por-v1/" || kind || "\\n" || canonical_json(document without "signature")

where ``canonical_json`` is ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=True)``. Documents hold only strings, integers, lists and objects (no floats), so the
canonical form is unambiguous. ``kind`` is ``snapshot`` or ``reserves`` and stops a signature on
one kind of document from being replayed as the other.

A signature only shows the document came from whoever holds the key in it: a user must compare
``public_key`` with the exchange's key obtained through another channel (``--public-key``).
"""

from __future__ import annotations

import json
from typing import Any

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from rucksack.reserves.commitments import VERSION


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def signed_message(kind: str, document: dict[str, Any]) -> bytes:
    body = {k: v for k, v in document.items() if k != "signature"}
    return f"{VERSION}/{kind}\n".encode() + canonical_json(body)


def sign_document(kind: str, document: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """Return ``document`` with ``public_key`` set to ``key``'s and a fresh ``signature``."""
    doc = dict(document)
    doc["public_key"] = key.verify_key.encode().hex()
    doc.pop("signature", None)
    doc["signature"] = key.sign(signed_message(kind, doc)).signature.hex()
    return doc


def check_signature(kind: str, document: dict[str, Any]) -> str | None:
    """``None`` when ``document``'s signature is valid under its own ``public_key``, else the reason."""
    try:
        key = VerifyKey(bytes.fromhex(document["public_key"]))
        signature = bytes.fromhex(document["signature"])
    except (KeyError, TypeError, ValueError) as exc:
        return f"missing or malformed public_key/signature: {exc}"
    if len(signature) != 64:
        return "signature is not 64 bytes"
    try:
        key.verify(signed_message(kind, document), signature)
    except BadSignatureError:
        return "signature does not match the document"
    return None
