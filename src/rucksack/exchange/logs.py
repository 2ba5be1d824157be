"""Structured logs: one JSON object a line on stderr, through the stdlib ``logging``.

Each line is ``{"ts", "level", "logger", "msg"}`` plus the context fields a call passes in
``extra`` -- :data:`CONTEXT_FIELDS`, e.g. ``log.info("...", extra={"seq": seq, "account": 1001})``
-- plus ``"exc"`` (the traceback) when there is one. Nothing else a record carries is written.

Secrets never: keys, tokens, signatures, seeds and passwords are not logged by any caller (the
rule), and the formatter enforces it twice over: only the named context fields are written (none
of them a secret), and in the message, context values and traceback every long run -- 40 or more
characters from ``A-Za-z0-9+/=_-`` -- is replaced by ``[redacted]`` unless it is shaped like a path
(starts with ``/`` and holds no ``+`` or ``=``: base64 of a 32- or 64-byte key or signature always
ends in ``=``) or like a lower-case identifier (no capital letter and fewer than 6 digits). So a
base64 or base58 key, signature, token or seed (mixed case) and a hex one (many digits) never
pass, whatever characters it happens to start with. (Public keys look the same and are redacted
too: an account id is what a log line names.)
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import sys
from typing import IO, Any

CONTEXT_FIELDS = ("seq", "account", "order", "market", "route", "method", "status", "code", "pid", "epoch")
_RUN = re.compile(r"[A-Za-z0-9+/=_-]{40,}")
REDACTED = "[redacted]"


def scrub(text: str) -> str:
    """``text`` with every run shaped like a key, signature, token or seed replaced."""
    return _RUN.sub(_redact, text)


def _redact(match: re.Match[str]) -> str:
    run = match.group(0)
    path = run.startswith("/") and "+" not in run and "=" not in run
    identifier = run == run.lower() and sum(c.isdigit() for c in run) < 6
    return run if path or identifier else REDACTED


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        line: dict[str, Any] = {
            "ts": when.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value if isinstance(value, int | float | bool) else scrub(str(value))
        if record.exc_info:
            line["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def configure(level: int | None = None, stream: IO[str] | None = None) -> None:
    """Send every logger's records (uvicorn's included) to ``stream`` (stderr) as JSON lines, from
    ``level`` up (default: ``$RUCKSACK_LOG_LEVEL``, else INFO; DEBUG adds refused signed requests)."""
    if level is None:
        named = logging.getLevelName(os.environ.get("RUCKSACK_LOG_LEVEL", "INFO").upper())
        level = named if isinstance(named, int) else logging.INFO
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # theirs propagate to ours
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


__all__ = ["CONTEXT_FIELDS", "JsonFormatter", "configure", "scrub"]
