"""Sandbox only: the devnet's faucet keeps the exchange's hot wallets in gas.

On a real chain the operator funds the hot wallet's native coin (it pays every withdrawal's fee
and tops up deposit addresses so their tokens can be swept). On the local devnet nobody would, so
an EVM withdrawal in the sandbox waited for gas and was refunded a minute later. In sandbox mode
the custody therefore checks each chain's hot wallet before its passes (at most every
``every`` passes, and at once when a withdrawal finds the hot wallet short) and, below 0.05 of
the native coin, asks the devnet faucet for 0.1 more: enough fees for hundreds of transfers and
top-ups of deposit addresses, too little to pay customers' withdrawals of the coin itself.

The faucet (``rucksack.wallet.faucet``) works only on loopback against a node that answers as
the Rucksack devnet; anywhere else it refuses, and this does nothing more for that chain (logged
once). Never in production: the server builds this only for a sandbox.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from rucksack.chains.registry import get_chain
from rucksack.exchange.custody.keys import CustodyKeys
from rucksack.exchange.custody.rpc import JsonRpc
from rucksack.exchange.custody.rpc import RpcError as CustodyRpcError
from rucksack.wallet import faucet
from rucksack.wallet.rpc import Endpoints, RpcError

log = logging.getLogger("rucksack.custody")
# a float for fees only, small beside what customers withdraw: a withdrawal of the native coin
# itself is still paid from swept deposits, never from this float
FLOOR_HUNDREDTHS = 5  # the hot wallet keeps at least 0.05 of the native coin (SOL, ETH)
TOP_UP = "0.1"  # asked of the faucet when below the floor


class SandboxGas:
    def __init__(self, keys: CustodyKeys, rpcs: dict[str, JsonRpc], urls: dict[str, str], every: int = 30) -> None:
        self.keys = keys
        self.rpcs = rpcs
        self.endpoints = Endpoints(overrides=dict(urls))
        self.every = every
        self._passes = 0
        self._refused: set[str] = set()  # chains whose node is not the devnet: never asked again

    async def keep_up(self, *, now: bool = False) -> None:
        """Top up every chain's hot wallet that is below the floor (every ``every`` calls, or ``now``)."""
        self._passes += 1
        if not now and self._passes % self.every != 1:
            return
        for key, rpc in self.rpcs.items():
            if key not in self._refused:
                await self._keep_up(key, rpc)

    async def _keep_up(self, key: str, rpc: JsonRpc) -> None:
        chain = get_chain(key)
        hot = self.keys.hot_address(chain)
        try:
            if chain.is_svm:
                held = int((await rpc.call("getBalance", hot))["value"])
            else:
                held = int(await rpc.call("eth_getBalance", hot, "latest"), 16)
        except (CustodyRpcError, httpx.HTTPError, OSError):  # a node down or not this chain: the watchers say so
            return
        if held >= FLOOR_HUNDREDTHS * 10 ** (chain.native_decimals - 2):
            return
        try:  # the faucet's client is synchronous (it waits for its transaction): off the loop
            await asyncio.to_thread(faucet.fund, self.endpoints, key, "native", hot, TOP_UP)
        except faucet.NotADevnet as exc:
            self._refused.add(key)
            log.warning("%s: the hot wallet is low on gas and this is no devnet to fund it: %s", key, exc)
            return
        except (RpcError, OSError) as exc:  # RpcUnreachable is an RpcError
            log.warning("%s: the devnet faucet could not fund the hot wallet: %s", key, exc)
            return
        log.info("%s: the devnet faucet sent the hot wallet %s %s for gas", key, TOP_UP, chain.native_symbol)
