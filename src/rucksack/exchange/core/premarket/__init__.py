"""Pre-market perps: contracts on a token that is not listed yet (docs/premarket.md).

- ``book``: each pre-market's phase (Trading -> Listing -> Settled) and the listing's
  time-weighted average of the spot price, in snapshots and the state hash;
- ``commands``/``events``: ``CrankPreMarkets`` (the scheduler, each second) and ``ListPreMarket``
  (the operator);
- ``handlers``: the banded mark, the listing, the reference price, the settlement, and the
  isolation rule the order and borrow paths call.
"""
