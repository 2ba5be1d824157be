"""The JSON log formatter: one object a line, context fields, secrets redacted even if logged."""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets

from rucksack.exchange.logs import configure


def test_json_lines_carry_context_and_redact_secret_shaped_runs() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure(logging.DEBUG, stream)
    try:
        log = logging.getLogger("rucksack.test")
        signature = base64.b64encode(secrets.token_bytes(64)).decode()
        token = secrets.token_hex(32)
        log.info(
            "order from %s signed %s",
            "/work/data/journal-000000000001-000000000002.log",
            signature,
            extra={
                "seq": 42,
                "account": 1001,
                "signature": signature,  # not a context field: never written
            },
        )
        try:
            raise ValueError(f"bad token {token}")
        except ValueError:
            log.exception("failed", extra={"seq": 43})
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (first["seq"], first["account"], first["level"], first["logger"]) == (42, 1001, "INFO", "rucksack.test")
    assert first["msg"] == "order from /work/data/journal-000000000001-000000000002.log signed [redacted]"
    assert "signature" not in first and second["seq"] == 43 and "bad token [redacted]" in second["exc"]
    assert signature not in stream.getvalue() and token not in stream.getvalue()


def test_secret_shaped_runs_are_redacted_whatever_they_start_with() -> None:
    from rucksack.exchange.logs import scrub

    slash_signature = "/" + base64.b64encode(bytes(range(64))).decode()[1:]  # base64 may begin with "/"
    few_digits_key = "GsbwXfJraMomNxBcjYLcG3mxkBUiyWXAB32fGbSMQRdW"  # base58, 3 digits
    assert scrub(f"signed {slash_signature}") == "signed [redacted]"
    assert scrub(f"key {few_digits_key}") == "key [redacted]"
    kept = "/tmp/pytest-of-root/pytest-388/popen-gw1/test_the_running_server_keeps_0/custody"
    assert scrub(kept) == kept  # a path
    assert scrub("rucksack_exchange_core_liquidation_sweep_haircut_charges") == (
        "rucksack_exchange_core_liquidation_sweep_haircut_charges"  # an identifier
    )
