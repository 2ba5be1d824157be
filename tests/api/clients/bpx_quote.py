"""Quote an RFQ with bpx-py 2.0.11 (unmodified); run with the bpx venv's Python.

Usage: bpx_quote.py URL API_KEY API_SECRET RFQ_ID BID ASK -> prints the quote JSON.
"""

import json
import sys

from bpx.account import Account

url, key, secret, rfq_id, bid, ask = sys.argv[1:7]
account = Account(key, secret, window=5000)
account.BPX_API_URL = url.rstrip("/") + "/"
print(json.dumps(account.submit_quote(rfq_id, bid, ask, client_id=42)))
