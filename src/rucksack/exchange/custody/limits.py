"""Per-asset withdrawal limits and the ``tokens`` rows of ``GET /api/v1/assets``.

**Minimum withdrawal** per exchange asset, whatever the chain: defaults in
:data:`DEFAULT_MIN_WITHDRAWAL` (1 USDC, 0.01 SOL, 0.001 ETH, 0.0001 BTC, 1 POL), overridden per
data directory by ``DATA/custody.toml``::

    [min_withdrawal]
    SOL = "0.05"
    USDC = "5"

(exact decimal strings; a value that is not one, or has more places than the asset's atoms, stops
the server at start). ``POST /wapi/v1/capital/withdrawals`` refuses a quantity below it with 400
``INVALID_QUANTITY`` before anything is held. There is no maximum beyond the engine's checks
(available balance and margin) and no withdrawal fee: the hot wallet pays the network fee.

**Tokens.** :func:`asset_tokens` lists, for one exchange asset, every chain of the registry on which
it is the native coin or the USDC-like token, with Backpack's fields (``blockchain`` in Backpack's
enum spelling, ``contractAddress`` null for a native coin); ``depositEnabled`` and
``withdrawEnabled`` are true only on the chains custody is connected to (``--chain-rpc``). A
server without chains still publishes the tokens, every flag false (ccxt's ``fetchCurrencies``
reads its networks from them).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rucksack.chains.registry import CHAINS

CONFIG_NAME = "custody.toml"

DEFAULT_MIN_WITHDRAWAL: dict[str, str] = {"USDC": "1", "SOL": "0.01", "ETH": "0.001", "BTC": "0.0001", "POL": "1"}


class LimitsError(ValueError):
    """A bad ``custody.toml``."""


def _atoms(text: str, decimals: int, what: str) -> int:
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        raise LimitsError(f"{what}: {text!r} is not a decimal number") from None
    if not value.is_finite() or value < 0:
        raise LimitsError(f"{what}: {text!r} must be a non-negative number")
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise LimitsError(f"{what}: {text!r} has more than {decimals} decimal places")
    return int(scaled)


class WithdrawalLimits:
    """Minimum withdrawal per asset, as decimal strings (for the wire) and atoms (for the check)."""

    def __init__(self, minimums: Mapping[str, str] | None = None) -> None:
        self.minimums: dict[str, str] = dict(DEFAULT_MIN_WITHDRAWAL)
        self.minimums.update({str(k): str(v) for k, v in (minimums or {}).items()})

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> WithdrawalLimits:
        path = data_dir / CONFIG_NAME
        if not path.is_file():
            return cls()
        try:
            doc = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise LimitsError(f"{path}: {exc}") from None
        table = doc.get("min_withdrawal", {})
        if not isinstance(table, dict) or any(isinstance(v, float) for v in table.values()):
            raise LimitsError(f"{path}: [min_withdrawal] maps symbols to decimal strings (quoted, not floats)")
        return cls(table)

    def minimum(self, symbol: str) -> str:
        return self.minimums.get(symbol, "0")

    def minimum_atoms(self, symbol: str, decimals: int) -> int:
        return _atoms(self.minimum(symbol), decimals, f"min_withdrawal {symbol}")

    def check(self, symbols: Mapping[str, int]) -> None:
        """Raise :class:`LimitsError` unless every minimum fits its asset's atoms (``symbols``: decimals)."""
        for symbol, decimals in symbols.items():
            self.minimum_atoms(symbol, decimals)


def asset_tokens(
    symbol: str, decimals: int, connected: Iterable[str], limits: WithdrawalLimits | None
) -> list[dict[str, Any]]:
    """Backpack's ``tokens`` rows for ``symbol``: one for every chain of the registry that carries
    it (as its native coin or as its token), deposits and withdrawals enabled on the ``connected``
    chains only (``--chain-rpc``); ``[]`` for an asset no chain carries (BTC, the stocks)."""
    from rucksack.exchange.custody.keys import BLOCKCHAIN_OF

    smallest = format(Decimal(1).scaleb(-decimals), "f")  # one atom: the dust rule credits nothing less
    live = set(connected)
    minimum = limits.minimum(symbol) if limits is not None else smallest
    out = []
    for chain in CHAINS:
        if symbol == chain.native_symbol:
            contract = None
        elif symbol == chain.token.symbol:
            contract = chain.token.address
        else:
            continue
        enabled = chain.key in live
        out.append(
            {
                "displayName": chain.name,
                "blockchain": BLOCKCHAIN_OF[chain.key],
                "contractAddress": contract,
                "depositEnabled": enabled,
                "minimumDeposit": smallest,
                "withdrawEnabled": enabled,
                "minimumWithdrawal": minimum,
                "maximumWithdrawal": None,
                "withdrawalFee": "0",
            }
        )
    return out
