"""Drive bpx-py 2.0.11 (unmodified) against a server; run with the bpx venv's Python.

Usage: bpx_flow.py URL API_KEY API_SECRET -> prints one JSON object of results.
bpx-py cannot share an environment with ccxt (cryptography < 44 vs >= 50), so the Makefile
gives it its own pinned venv (tests/api/clients/bpx-requirements.txt).
"""

import json
import sys

from bpx.account import Account
from bpx.public import Public

url, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
base = url.rstrip("/") + "/"
public = Public()
public.BASE_URL = base
account = Account(key, secret, window=5000)
account.BPX_API_URL = base
out = {
    "markets": [m["symbol"] for m in public.get_markets()],
    "status": public.get_status(),
    "depth": public.get_depth("SOL_USDC"),
    "ticker": public.get_ticker("SOL_USDC"),
    "time": public.get_time(),
    "balances": account.get_balances(),
}
placed = account.execute_order(
    "SOL_USDC", "Bid", "Limit", quantity="2", price="98", client_id=31, post_only=True, time_in_force="GTC"
)
out["placed"] = placed
out["open_one"] = account.get_open_order("SOL_USDC", client_id=31)
out["open"] = account.get_open_orders(symbol="SOL_USDC")
out["cancelled"] = account.cancel_order("SOL_USDC", order_id=placed["id"])
out["market"] = account.execute_order("SOL_USDC", "Ask", "Market", quantity="0.5")
out["history"] = account.get_order_history(symbol="SOL_USDC", limit=10, offset=0)
out["fills"] = account.get_fill_history(symbol="SOL_USDC", limit=10, offset=0)
out["deposits"] = account.get_deposits(limit=10, offset=0)
out["cancel_all"] = account.cancel_all_orders("SOL_USDC")
out["borrow_history"] = account.get_borrow_history(limit=100, offset=0)
out["interest"] = account.get_interest_history(symbol="USDC", limit=100, offset=0)
print(json.dumps(out))
