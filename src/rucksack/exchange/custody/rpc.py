"""A minimal async JSON-RPC 2.0 client over httpx (chain nodes and ``rucksack devnet`` alike)."""

from __future__ import annotations

import itertools
from typing import Any

import httpx


class RpcError(Exception):
    """The node answered with a JSON-RPC error: a definite refusal (unlike a transport error)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.data = data


class JsonRpc:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self._client = httpx.AsyncClient(timeout=timeout)
        self._ids = itertools.count(1)

    async def call(self, method: str, *params: Any) -> Any:
        body = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": list(params)}
        resp = await self._client.post(self.url, json=body)
        resp.raise_for_status()
        out = resp.json()
        if out.get("error"):
            err = out["error"]
            raise RpcError(int(err.get("code", 0)), str(err.get("message", "")), err.get("data"))
        return out.get("result")

    async def aclose(self) -> None:
        await self._client.aclose()
