"""Drive bpx-py 2.0.11 (unmodified) through the margin endpoints; run with the bpx venv's Python.

Usage: bpx_margin_flow.py URL API_KEY API_SECRET -> prints one JSON object of results.
"""

import json
import sys

from bpx.account import Account

url, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
account = Account(key, secret, window=5000)
account.BPX_API_URL = url.rstrip("/") + "/"
out = {
    "update": account.update_account(auto_lend=True, leverage_limit="7"),
    "account": account.get_account(),
    "order": account.execute_order("SOL_USDC_PERP", "Bid", "Market", quantity="1", reduce_only=False),
    "positions": account.get_open_positions(),
    "collateral": account.get_collateral(),
    "max_order": account.get_max_order_quantity("SOL_USDC_PERP", "Ask", reduce_only=True),
    "funding": account.get_funding_payments(symbol="SOL_USDC_PERP", limit=10, offset=0),
    "settlements": account.get_settlements_history(limit=10, offset=0),
    "closed": account.execute_order("SOL_USDC_PERP", "Ask", "Market", quantity="5", reduce_only=True),
}
print(json.dumps(out))
