"""The depth scan in front of every JSON parser: exact on what it counts, linear on what it reads."""

from __future__ import annotations

import threading

import pytest

from rucksack.exchange.api.errors import ApiError
from rucksack.exchange.api.payload import MAX_DEPTH, parse_json, too_deep


def test_depth_counts_brackets_outside_strings_only() -> None:
    assert not too_deep("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert too_deep("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert too_deep('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1))
    assert not too_deep('["' + "[" * 100_000 + '"]')  # inside a string
    assert not too_deep('["\\"' + "[" * 100_000 + '"]')  # an escaped quote does not end it
    assert too_deep('["\\\\"' + "," + "[" * 100 + "]" * 100 + "]")  # an escaped backslash does
    # after an unterminated string every bracket is string text to a parser too: not deep, and
    # the parser refuses the payload as it is
    assert not too_deep('"' + "[" * 100_000)
    with pytest.raises(ApiError):
        parse_json(b'"' + b"[" * 100_000)


@pytest.mark.parametrize(
    "payload",
    [
        "[" * 65 + '"' + '\\"' * 500_000,  # escaped quotes, no closing quote: was quadratic
        "[" * 65 + '"' * 1_000_001,  # an odd number of bare quotes
        "[" * 65 + '"' + "\\" * 1_000_001,  # ends inside an escape
    ],
)
def test_a_megabyte_of_unterminated_strings_is_scanned_in_one_pass(payload: str) -> None:
    """One unauthenticated request of 24 KB held the event loop for 10 s before the scan let an
    unterminated string run to the end; a 1 MiB frame (the WebSocket cap) would have held it for
    hours. The bound here is three orders of magnitude above the linear scan's ~0.2 s, and as far
    below the old behaviour: it catches a return of the quadratic case, not a slow machine."""
    result: list[bool] = []
    worker = threading.Thread(target=lambda: result.append(too_deep(payload)), daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert result == [True], "the depth scan did not finish: quadratic again?"
