"""Risk: collateral valuation with haircuts, net equity (margin requirements come next)."""
