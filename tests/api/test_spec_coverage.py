"""Every REST method+path pair and every WebSocket stream in Backpack's spec is served.

Parses ``shared/spec/backpack-api.md`` (§2's endpoint tables, §5.2's stream table, §5.3's private
stream headings) and checks each pair against the app's route tables (and the OpenAPI document,
which the schemathesis run drives) and each stream against the hub's stream validation. The only
pairs allowed to be missing are in ``NOT_SERVED``, each with the reason it cannot exist here.

No server is started: the route tables are what the dispatcher answers from (``app._dispatch``),
and ``Hub.valid`` is what a SUBSCRIBE is checked against. The request-level tests of the routes
and streams live next to their features (tests/api/test_new_endpoints.py for the ones this file
made us add).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from rucksack.exchange.api import app, openapi
from rucksack.exchange.api.ws import Hub
from rucksack.exchange.service import ExchangeService

ROOT = Path(__file__).resolve().parents[2]
# the spec lives beside the repository (../shared/spec), in a worktree two levels up
CANDIDATES = [ROOT.parent / "shared/spec/backpack-api.md", ROOT.parents[1] / "shared/spec/backpack-api.md"]
SPEC = next((p for p in CANDIDATES if p.is_file()), None)

# what Backpack documents but cannot exist here, and why (keep this short and reasoned)
NOT_SERVED: dict[tuple[str, str], str] = {
    ("GET", "/wapi/v1/history/pnl"): "Backpack removed it on 2025-08-07 (spec §2.3); only bpx still calls it, "
    "and Backpack answers it 404 like any unknown path, as we do",
}
# paths the dispatcher answers itself, ahead of the tables (plain-text pong, bare integer time)
BUILT_IN = {("GET", "/api/v1/ping"), ("GET", "/api/v1/time")}

METHOD = r"(?:GET|POST|PUT|PATCH|DELETE)"
# a table row whose first cell is "GET `/path`", "GET / POST / PATCH `/path`" or "GET `/a`, `/b`"
ROW = re.compile(rf"^\|\s*({METHOD}(?:\s*/\s*{METHOD})*)\s+(`/[^|]*)\|(.*)$")
PATH = re.compile(r"`(/(?:api|wapi)/v\d+/[^`\s]+)`")
TICKED = re.compile(r"`([^`]+)`")

pytestmark = pytest.mark.skipif(SPEC is None, reason="shared/spec/backpack-api.md is not beside this checkout")


def _text() -> str:
    assert SPEC is not None
    return SPEC.read_text()


def _sections() -> Iterator[tuple[str, str]]:
    """(the current ``###`` heading number, the line) for every line of the spec."""
    section = ""
    for line in _text().splitlines():
        heading = re.match(r"^#{2,3}\s+(\d+(?:\.\d+)?)\b", line)
        if heading:
            section = heading.group(1)
        yield section, line


def rest_pairs() -> dict[tuple[str, str], tuple[str, list[str]]]:
    """(method, path) -> (spec section, the backticked words of the row's second cell: the instruction)."""
    pairs: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for section, line in _sections():
        if not section.startswith("2."):
            continue
        row = ROW.match(line)
        if row is None:
            continue
        methods = re.findall(METHOD, row.group(1))
        paths = PATH.findall(row.group(2))
        second = row.group(3).split("|", 1)[0]
        for method, path in itertools.product(methods, paths):
            pairs[(method, path)] = (section, TICKED.findall(second))
    return pairs


def kline_intervals() -> list[str]:
    row = next(line for _, line in _sections() if line.startswith("| KlineInterval |"))
    return TICKED.findall(row)


def stream_templates() -> list[str]:
    """Stream names as the spec writes them (``depth.200ms.<symbol>``, ``account.orderUpdate``...)."""
    names: list[str] = []
    for section, line in _sections():
        if section == "5.2" and line.startswith("| ") and not line.startswith(("| Stream name", "|---")):
            first = line.split("|")[1]
            names += [n for n in TICKED.findall(first) if re.match(r"^[a-zA-Z]+(\.|$)", n)]
        if section == "5.3" and line.startswith("**`account."):
            names += [n for n in TICKED.findall(line) if n.startswith("account.")]
    return names


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    service = ExchangeService(tmp_path_factory.mktemp("spec") / "d", fsync=False)
    try:
        yield Hub(service)
    finally:
        service.close()


def instances(template: str, service: ExchangeService) -> list[str]:
    """Every concrete stream ``template`` names here: each market, interval, security."""
    securities = service.spec.securities
    rfq = template.startswith("account.rfqUpdate")
    values = {
        "<symbol>": [s.market for s in securities] if rfq else list(service.wire.markets),
        "<interval>": kline_intervals(),
        "<TICKER>": [s.asset.replace(".US", "") for s in securities],
        "<BASE>": [s.asset for s in securities],
    }
    out = [template]
    for placeholder, choices in values.items():
        if placeholder in template:
            assert choices, f"{template}: nothing here to stand for {placeholder}"
            out = [name.replace(placeholder, choice) for name in out for choice in choices]
    return out


def test_the_spec_parses_into_every_table_row() -> None:
    """The parser finds what the spec lists (issue 18 counted 79 pairs), in every row style."""
    pairs = rest_pairs()
    assert len(pairs) >= 79
    for expected in [
        ("GET", "/api/v1/assets"),
        ("PATCH", "/wapi/v1/capital/withdrawals/delay"),  # a "GET / POST / PATCH" row
        ("GET", "/api/v1/market-holidays"),  # the fourth path of a multi-path row
        ("GET", "/api/v1/prediction/tags"),
        ("DELETE", "/api/v1/strategies"),
    ]:
        assert expected in pairs
    templates = stream_templates()
    for stream in ["depth.1000ms.<symbol>", "liquidation", "externalTicker.<BASE>_USDC", "account.balanceUpdate"]:
        assert stream in templates
    assert "1month" in kline_intervals()


def test_every_rest_pair_is_served() -> None:
    pairs = rest_pairs()
    served = set(app.PUBLIC) | set(app.PRIVATE) | BUILT_IN
    missing = sorted(set(pairs) - served - set(NOT_SERVED))
    assert not missing, f"spec pairs not served: {missing}"
    assert set(pairs) - set(NOT_SERVED) <= set(openapi.OPERATIONS)  # documented, so schemathesis drives them


def test_public_and_private_as_the_spec_says() -> None:
    """§2.1 routes need no signature; §2.2-2.3 routes are signed with one of the row's instructions."""
    for (method, path), (section, ticked) in rest_pairs().items():
        if (method, path) in NOT_SERVED:
            continue
        if section == "2.1":
            assert (method, path) in app.PUBLIC or (method, path) in BUILT_IN, (method, path)
        else:
            assert (method, path) in app.PRIVATE, (method, path)
            instruction = app.PRIVATE[(method, path)][0]
            assert instruction in ticked, f"{method} {path}: {instruction} is not among {ticked}"


def test_exceptions_are_real_and_unserved() -> None:
    """Every exception names a spec pair that is indeed not served, with a reason."""
    pairs = rest_pairs()
    for key, reason in NOT_SERVED.items():
        assert key in pairs and reason
        assert key not in app.PUBLIC and key not in app.PRIVATE


def test_every_stream_is_accepted(hub: Hub) -> None:
    service = hub.service
    refused = [name for template in stream_templates() for name in instances(template, service) if not hub.valid(name)]
    assert not refused, f"spec streams refused by the hub: {refused[:20]}"
    # and the check is a check: unknown names, markets and intervals are refused
    assert not hub.valid("depth.250ms.SOL_USDC") and not hub.valid("trade.NOPE_USDC")
    assert not hub.valid("stockPrice.NOPE") and not hub.valid("externalTicker.SOL_USDC")
