"""One loopback HTTP server for every devnet chain: ``POST /<chain-key>`` is that chain's JSON-RPC.

- Binds loopback only (127.0.0.0/8, ::1, localhost); any other host is refused before a socket
  opens. Port 0 picks a free port (tests).
- ``GET /`` answers a JSON index: every chain's URL, chain id, token address and faucet.
- JSON-RPC batches (arrays) are answered in order. Each chain serialises its own requests; chains
  run side by side on the server's threads.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rucksack.chains.devnet import DEFAULT_PORT, genesis
from rucksack.chains.devnet.rpc import PARSE_ERROR, Node, RpcError, _error
from rucksack.chains.registry import CHAINS, Chain, get_chain

MAX_BODY = 8 * 1024 * 1024


def ensure_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise ValueError(f"the devnet binds loopback only (127.0.0.1, ::1, localhost), not {host!r}")


def build_node(chain: Chain) -> Node:
    if chain.is_svm:
        from rucksack.chains.devnet.svm_node import SvmNode

        return SvmNode(chain)
    from rucksack.chains.devnet.evm_node import EvmNode

    return EvmNode(chain)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: clients poll a lot
        return

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "":
            self._send(200, self.server.devnet.describe())
        else:
            self._send(404, {"error": "POST JSON-RPC to /<chain>; GET / lists the chains"})

    def do_POST(self) -> None:
        node = self.server.devnet.nodes.get(self.path.strip("/").split("?")[0])
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, {"error": "request too large"})
            return
        body = self.rfile.read(length)
        if node is None:
            self._send(404, {"error": f"no chain at {self.path}; known: {sorted(self.server.devnet.nodes)}"})
            return
        try:
            request = json.loads(body)
        except ValueError:
            self._send(200, _error(None, RpcError(PARSE_ERROR, "Parse error")))
            return
        if isinstance(request, list):
            replies = [r for r in (node.handle(q) for q in request) if r is not None]
            self._send(200, replies)
        else:
            self._send(200, node.handle(request))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    devnet: Devnet


class Devnet:
    """All (or some) chains behind one server. ``start()`` serves on a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, chains: Iterable[str] | None = None) -> None:
        ensure_loopback(host)
        self.host = host
        self.port = port
        self.chains = [get_chain(k) for k in chains] if chains is not None else list(CHAINS)
        self.nodes: dict[str, Node] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def url(self, chain: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/{chain}"

    def describe(self) -> dict[str, Any]:
        faucet_svm = str(genesis.svm_faucet().pubkey())
        return {
            "chains": {
                c.key: {
                    "url": self.url(c.key),
                    "family": c.family.value,
                    "chainId": c.chain_id,
                    "native": c.native_symbol,
                    "token": {"symbol": c.token.symbol, "address": c.token.address, "decimals": c.token.decimals},
                    "faucet": faucet_svm if c.is_svm else genesis.evm_faucet().address,
                }
                for c in self.chains
            },
            "mnemonic": genesis.DEVNET_MNEMONIC,
        }

    def start(self) -> Devnet:
        self.nodes = {c.key: build_node(c) for c in self.chains}
        server = _Server((self.host, self.port), _Handler)
        server.devnet = self
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="rucksack-devnet", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Devnet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
