"""schemathesis hooks that sign every request like a Backpack client, so fuzzing reaches past auth.

Loaded by ``st run`` through ``SCHEMATHESIS_HOOKS=tests.api.signing_hooks`` (tests/api/test_openapi.py).
The environment names the credentials: ``RUCKSACK_FUZZ_API_KEY`` / ``RUCKSACK_FUZZ_SECRET`` (an ED25519
key of a funded sandbox account) and ``RUCKSACK_FUZZ_ADMIN_TOKEN`` (the server's admin token);
with ``RUCKSACK_FUZZ_LOG`` every answer's method, path and status is appended to that file.

Private operations (security ``backpackSignature``) get X-API-Key, X-Signature, X-Timestamp and
X-Window over ``instruction=<instr>&<sorted params>&timestamp=<ms>&window=<ms>``, the parameters
being what is actually sent: the query for GET (and for a request without a body), else the JSON
body's top-level pairs (a batch: each order's pairs, joined with ``&``). Admin operations get
X-Admin-Token. The instruction of each route comes from the server's route table.
"""

from __future__ import annotations

import base64
import json
import os
import time
from typing import Any

import nacl.signing
import schemathesis
from schemathesis.core import NotSet

from rucksack.exchange.api.app import PRIVATE

WINDOW_MS = 60_000


def _render(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return json.dumps(value)  # the token text the JSON body carries
    return json.dumps(value, separators=(",", ":"))


def _query_pairs(query: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in (query or {}).items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None:  # requests leaves None out of the query string
                pairs.append((str(key), "true" if item is True else "false" if item is False else str(item)))
    return pairs


def _body_pairs(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, r) for k, v in body.items() if (r := _render(v)) is not None]


def _join(instruction: str, pairs: list[tuple[str, str]]) -> str:
    return "&".join([f"instruction={instruction}", *(f"{k}={v}" for k, v in sorted(pairs))])


def signing_string(instruction: str, method: str, query: Any, body: Any, has_body: bool) -> str:
    if method == "GET" or not has_body:
        message = _join(instruction, _query_pairs(query))
    elif isinstance(body, list) and body and all(isinstance(order, dict) for order in body):
        message = "&".join(_join(instruction, _body_pairs(order)) for order in body)
    elif isinstance(body, dict):
        message = _join(instruction, _body_pairs(body))
    else:  # not an object: refused before the signature is looked at
        message = f"instruction={instruction}"
    return message


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    method, path = case.method.upper(), case.path
    headers = dict(case.headers or {})
    if (method, path) in PRIVATE:
        instruction = PRIVATE[(method, path)][0]
        body = case.body
        has_body = not isinstance(body, NotSet)  # None is sent as the body "null"
        ts = int(time.time() * 1000)
        message = (
            signing_string(instruction, method, case.query, body, has_body) + f"&timestamp={ts}&window={WINDOW_MS}"
        )
        seed = base64.b64decode(os.environ["RUCKSACK_FUZZ_SECRET"])
        signature = nacl.signing.SigningKey(seed).sign(message.encode()).signature
        headers.update(
            {
                "X-API-Key": os.environ["RUCKSACK_FUZZ_API_KEY"],
                "X-Signature": base64.b64encode(signature).decode(),
                "X-Timestamp": str(ts),
                "X-Window": str(WINDOW_MS),
            }
        )
    elif path.startswith("/api/v1/sandbox/"):
        headers["X-Admin-Token"] = os.environ["RUCKSACK_FUZZ_ADMIN_TOKEN"]
    case.headers = headers


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """With ``RUCKSACK_FUZZ_LOG``: one ``METHOD PATH STATUS`` line per answer, for the test to read."""
    log = os.environ.get("RUCKSACK_FUZZ_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{case.method.upper()} {case.path} {response.status_code}\n")
    debug = os.environ.get("RUCKSACK_FUZZ_DEBUG")  # for looking into a run: what was sent, what came back
    if debug:
        row = [case.method.upper(), case.path, response.status_code, repr(case.query), repr(case.body)]
        with open(debug, "a", encoding="utf-8") as out:
            out.write(json.dumps([*row, response.text[:200]]) + "\n")
