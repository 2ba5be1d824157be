"""The public chain of state commitments: record layout, segment Merkle trees, checks. Stdlib + PyNaCl.

Anyone can run these checks (``rucksack verify-exchange``, ``rucksack wallet verify-fills``); the
exchange side that builds the records is ``rucksack.exchange.checkpoints`` (docs/reserves.md, "The
chain of commitments").

**A record** (``rucksack-chain-v1``) commits the exchange to its state at one journal seq::

    {"version", "seq", "ts_us", "state_hash", "segment": {"first", "last", "size", "root"},
     "prev_hash", "liabilities_root", "public_key", "signature"}

``signature`` is ED25519 over ``"rucksack-chain-v1/record\\n" ‖ canonical_json(record without
"signature")`` (``canonical_json`` as in ``signing.py``). ``record_hash`` is
``SHA-256(canonical_json(record))`` over every field, the signature included; the next record's
``prev_hash`` is that hash (the first record's is 64 zeros). ``liabilities_root`` is the root of the
reserves snapshot cut at ``seq``, or null.

**A segment** is the journal records ``first..last`` (the commands after the previous checkpoint, up
to ``seq``) and what they did for each user. Its leaves, in journal order, for each command: one
``command`` leaf, then one ``order`` leaf per order it accepted, then one ``fill`` leaf per side of
each trade it executed (its account's). A leaf is a JSON object (strings and integers only)::

    leaf_hash = SHA-256(0x00 ‖ canonical_json(leaf))
    node_hash = SHA-256(0x01 ‖ left ‖ right)

and ``root`` is the Merkle Tree Hash of RFC 6962 §2.1 (Certificate Transparency) over the leaf
hashes: an empty segment hashes to SHA-256(""), a tree of n > 1 leaves splits at the largest power
of two below n. An inclusion proof is RFC 6962's audit path (``index``, ``size``, sibling hashes
bottom-up), checked with RFC 9162 §2.1.3.2: log2(size) hashes, whatever the segment's length.
The 0x00/0x01 prefixes stop a node from passing as a leaf (second-preimage).
"""

from __future__ import annotations

import hashlib
from typing import Any

from rucksack.reserves.signing import canonical_json

VERSION = "rucksack-chain-v1"
GENESIS = "0" * 64
KIND = "record"
LEAF_KINDS = ("command", "order", "fill")


# -- Merkle trees (RFC 6962 §2.1) --------------------------------------------------------------


def leaf_hash(leaf: dict[str, Any]) -> bytes:
    return hashlib.sha256(b"\x00" + canonical_json(leaf)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 Merkle Tree Hash of the leaf hashes."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = list(leaves)
    # bottom-up over complete pairs gives the same tree as the recursive split: an odd node is carried up
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def inclusion_path(leaves: list[bytes], index: int) -> list[bytes]:
    """RFC 6962 audit path of leaf ``index``: sibling hashes from the leaf up."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} is not in a tree of {len(leaves)}")
    path: list[bytes] = []
    level = list(leaves)
    i = index
    while len(level) > 1:
        sibling = i ^ 1
        if sibling < len(level):
            path.append(level[sibling])
        nxt = [node_hash(level[j], level[j + 1]) for j in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        i //= 2
    return path


def root_from_path(leaf: bytes, index: int, size: int, path: list[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root an audit path leads to, or None when the path cannot fit."""
    if not 0 <= index < size:
        return None
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


# -- records -----------------------------------------------------------------------------------


def signed_message(record: dict[str, Any]) -> bytes:
    body = {k: v for k, v in record.items() if k != "signature"}
    return f"{VERSION}/{KIND}\n".encode() + canonical_json(body)


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(record)).hexdigest()


def check_record_signature(record: dict[str, Any]) -> str | None:
    """None when the record's signature is valid under its own ``public_key``, else why not."""
    from nacl.exceptions import BadSignatureError
    from nacl.signing import VerifyKey

    try:
        key = VerifyKey(bytes.fromhex(record["public_key"]))
        signature = bytes.fromhex(record["signature"])
        key.verify(signed_message(record), signature)
    except (KeyError, TypeError, ValueError) as exc:
        return f"missing or malformed public_key/signature: {exc}"
    except BadSignatureError:
        return "signature does not match the record"
    return None


def check_chain(records: list[dict[str, Any]], public_key: str | None = None) -> list[str]:
    """Every problem with a run of records, oldest first: signatures (all under one key, ``public_key``
    when given), ``prev_hash`` links, strictly increasing seqs, segments that tile the journal
    (each starts right after the previous record's seq and ends at its own). Empty when all hold.
    The run may start after the genesis record (then its first link is not checked)."""
    problems: list[str] = []
    key = public_key
    prev: dict[str, Any] | None = None
    for i, record in enumerate(records):
        where = f"record {i} (seq {record.get('seq')})"
        if record.get("version") != VERSION:
            problems.append(f"{where}: version is not {VERSION}")
        why = check_record_signature(record)
        if why:
            problems.append(f"{where}: {why}")
        if key is None:
            key = record.get("public_key")
        elif record.get("public_key") != key:
            problems.append(f"{where}: signed by another key ({record.get('public_key')})")
        seg = record.get("segment") or {}
        seq = record.get("seq")
        if not isinstance(seq, int) or seg.get("last") != seq:
            problems.append(f"{where}: its segment does not end at its seq")
        if prev is None:
            if seg.get("first") == 1 and record.get("prev_hash") != GENESIS:
                problems.append(f"{where}: the first record's prev_hash is not {GENESIS}")
        else:
            if record.get("prev_hash") != record_hash(prev):
                problems.append(f"{where}: prev_hash does not match the hash of seq {prev.get('seq')}'s record")
            if not isinstance(seq, int) or not isinstance(prev.get("seq"), int) or seq <= prev["seq"]:
                problems.append(f"{where}: seq does not increase (previous {prev.get('seq')})")
            elif seg.get("first") != prev["seq"] + 1:
                problems.append(f"{where}: segment starts at {seg.get('first')}, not right after {prev['seq']}")
        prev = record
    return problems


def check_inclusion(proof: dict[str, Any], record: dict[str, Any]) -> str | None:
    """None when ``proof`` (``{"leaf", "index", "size", "path"}``) reaches ``record``'s segment root
    and its leaf lies inside that segment, else why not. (The record's own checks: :func:`check_chain`.)"""
    seg = record.get("segment") or {}
    try:
        leaf = proof["leaf"]
        path = [bytes.fromhex(h) for h in proof["path"]]
        index, size = int(proof["index"]), int(proof["size"])
    except (KeyError, TypeError, ValueError) as exc:
        return f"malformed proof: {exc}"
    if size != seg.get("size"):
        return f"proof is for a segment of {size} leaves, the record's has {seg.get('size')}"
    seq = leaf.get("seq") if isinstance(leaf, dict) else None
    if not isinstance(seq, int) or not seg.get("first", 0) <= seq <= seg.get("last", -1):
        return f"leaf seq {seq} is outside the segment {seg.get('first')}..{seg.get('last')}"
    root = root_from_path(leaf_hash(leaf), index, size, path)
    if root is None or root.hex() != seg.get("root"):
        return "the path does not lead to the record's segment root"
    return None


def _ts_ms(timestamp: Any) -> int | None:
    """A Backpack fill's ``timestamp`` (ISO 8601, UTC; or ms) in ms since the epoch."""
    from datetime import UTC, datetime

    if isinstance(timestamp, int):
        return timestamp
    try:
        when = datetime.fromisoformat(str(timestamp))
    except ValueError:
        return None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() * 1000)


def _same_fill(fill: dict[str, Any], leaf: dict[str, Any]) -> list[str]:
    from decimal import Decimal, InvalidOperation

    diffs = [k for k in ("symbol", "side", "orderId", "isMaker") if fill.get(k) != leaf.get(k)]
    for k in ("price", "quantity"):
        try:
            if Decimal(str(fill.get(k))) != Decimal(str(leaf.get(k))):
                diffs.append(k)
        except InvalidOperation:
            diffs.append(k)
    return diffs


def check_fills(
    records: list[dict[str, Any]], proofs: list[dict[str, Any]], fills: list[dict[str, Any]], account: int
) -> dict[str, Any]:
    """Check a user's fills against the chain: every proof reaches its record's segment root and is
    the user's own; every fill the user knows of (Backpack fill objects) up to the newest record's
    time has a proven leaf with the same trade, order, side, price and quantity ("dropped" when none,
    "rewritten" when one differs); fills after it are ``pending`` (not checkpointed yet). Position
    transfers (no ``orderId``: backstop, ADL) are not trades and are listed as ``skipped``."""
    by_seq = {r.get("seq"): r for r in records}
    problems: list[str] = []
    proven: dict[tuple[Any, Any], dict[str, Any]] = {}
    orders = 0
    for p in proofs:
        leaf = p.get("leaf") or {}
        record = by_seq.get(p.get("checkpoint"))
        where = f"{leaf.get('kind')} leaf at seq {leaf.get('seq')} (checkpoint {p.get('checkpoint')})"
        if record is None:
            problems.append(f"{where}: no such record in the chain")
            continue
        why = check_inclusion(p, record)
        if why:
            problems.append(f"{where}: {why}")
            continue
        if leaf.get("account") != account:
            problems.append(f"{where}: belongs to account {leaf.get('account')}, not {account}")
            continue
        if leaf.get("kind") == "fill":
            proven[(leaf.get("tradeId"), leaf.get("side"))] = leaf
        elif leaf.get("kind") == "order":
            orders += 1
    head_ms = int(records[-1]["ts_us"]) // 1000 if records else -1
    dropped: list[Any] = []
    rewritten: list[dict[str, Any]] = []
    pending: list[Any] = []
    skipped: list[Any] = []
    checked = 0
    for fill in fills:
        if fill.get("orderId") is None:
            skipped.append(fill.get("tradeId"))
            continue
        ts = _ts_ms(fill.get("timestamp"))
        if ts is None or ts > head_ms:
            pending.append(fill.get("tradeId"))
            continue
        leaf = proven.get((fill.get("tradeId"), fill.get("side")))
        if leaf is None:
            dropped.append(fill.get("tradeId"))
            problems.append(f"fill {fill.get('tradeId')} ({fill.get('side')}) has no proof of inclusion: dropped")
            continue
        diffs = _same_fill(fill, leaf)
        if diffs:
            rewritten.append({"tradeId": fill.get("tradeId"), "fields": diffs})
            problems.append(
                f"fill {fill.get('tradeId')} differs from its proven record in {', '.join(diffs)}: rewritten"
            )
            continue
        checked += 1
    return {
        "ok": not problems,
        "account": account,
        "provenFills": len(proven),
        "provenOrders": orders,
        "fillsChecked": checked,
        "dropped": dropped,
        "rewritten": rewritten,
        "pending": pending,
        "skipped": skipped,
        "problems": problems,
    }


__all__ = [
    "GENESIS",
    "VERSION",
    "check_chain",
    "check_fills",
    "check_inclusion",
    "check_record_signature",
    "inclusion_path",
    "leaf_hash",
    "merkle_root",
    "node_hash",
    "record_hash",
    "root_from_path",
    "signed_message",
]
