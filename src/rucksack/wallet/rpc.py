"""A small synchronous JSON-RPC 2.0 client over HTTP (stdlib only), and per-chain endpoints.

The wallet is a short-lived command: one plain blocking client keeps it free of asyncio (solana-py
0.41 is async-only) and of web3's ~2 s import. Works against any endpoint that speaks the chains'
own JSON-RPC: the devnet (``http://127.0.0.1:8899/<chain>``) by default, or a real node per chain.
"""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from rucksack.chains.registry import get_chain
from rucksack.endpoints import DEFAULT_DEVNET


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"RPC error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data


class RpcUnreachable(RpcError):
    def __init__(self, url: str, why: str) -> None:
        super().__init__(-1, f"cannot reach {url}: {why}")


class Rpc:
    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self.timeout = timeout
        self._ids = itertools.count(1)

    def _post(self, body: Any) -> Any:
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as err:
            raise RpcUnreachable(self.url, f"HTTP {err.code}") from None
        except (urllib.error.URLError, OSError) as err:
            raise RpcUnreachable(self.url, str(getattr(err, "reason", err))) from None

    @staticmethod
    def _result(reply: dict[str, Any]) -> Any:
        if "error" in reply and reply["error"] is not None:
            e = reply["error"]
            raise RpcError(int(e.get("code", 0)), str(e.get("message", "")), e.get("data"))
        return reply.get("result")

    def call(self, method: str, *params: Any) -> Any:
        return self._result(
            self._post({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)})
        )

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Several calls in one request; results in order; the first error raises."""
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in zip(ids, calls, strict=True)]
        replies = self._post(body)
        by_id = {r.get("id"): r for r in replies}
        return [self._result(by_id[i]) for i in ids]


@dataclass
class Endpoints:
    """Where each chain's JSON-RPC lives: ``overrides[chain]`` if given, else ``devnet/<chain>``."""

    devnet: str = DEFAULT_DEVNET
    overrides: dict[str, str] = field(default_factory=dict)
    timeout: float = 30.0

    def url(self, chain: str) -> str:
        get_chain(chain)
        return self.overrides.get(chain) or f"{self.devnet.rstrip('/')}/{chain}"

    def rpc(self, chain: str) -> Rpc:
        return Rpc(self.url(chain), self.timeout)

    @classmethod
    def parse(cls, devnet: str | None, rpc_flags: list[str]) -> Endpoints:
        """``--rpc CHAIN=URL`` (repeatable) and ``--devnet URL``."""
        overrides: dict[str, str] = {}
        for item in rpc_flags:
            chain, sep, url = item.partition("=")
            if not sep or not url:
                raise ValueError(f"--rpc takes CHAIN=URL, got {item!r}")
            get_chain(chain)
            overrides[chain] = url
        return cls(devnet or DEFAULT_DEVNET, overrides)
