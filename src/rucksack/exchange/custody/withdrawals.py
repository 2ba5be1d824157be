"""Withdrawals: sign with the hot key, broadcast, track to ``confirmed``, or refund the funds.

Lifecycle of a ``custody.sqlite`` withdrawal row (the API creates it, ``db.WIRE_STATUS`` maps it):

1. ``requested`` -- row written, then the journaled ``Withdraw(request_id="withdrawal:<id>")``
   debits the account (margin, limits, autoLendRedeem: the engine decides). Refused: ``declined``.
2. ``pending`` -- funds debited (held off the account; nothing on chain yet).
3. ``signed`` -- the transaction is built, signed by the hot key and stored (``raw``, ``tx_hash``)
   *before* it is sent; a restart resends the same bytes, so it can never pay out twice.
4. ``confirmed`` once the chain shows it succeeded with the configured confirmations; or
   ``refunding`` -> ``refunded`` when the node refuses it (a JSON-RPC error while the chain does not
   know the transaction) or it failed on chain: the amount goes back with a journaled ``Deposit``
   whose tx id is ``withdrawal-refund:<id>`` (so a refund, too, happens at most once).

A transport error (node unreachable) changes nothing: the next pass tries again. A JSON-RPC error
while building (fees, nonce, balances, blockhash) refunds it ("cannot build the transaction"). SVM transactions
carry a memo ``rucksack withdrawal <id>`` so two equal withdrawals never have identical bytes.

**The hot wallet must hold it first.** Before signing, a ``pending`` withdrawal is checked against
the hot wallet's balances (the amount, the fee, and on SVM the rent a recipient token account and
the hot wallet itself need). When short, it stays ``pending`` for up to ``wait_passes`` custody
passes and sets ``short``, so the custody loop sweeps deposit addresses into the hot wallet at
once instead of on its schedule; if it is still short after that, it is refunded ("the hot wallet
cannot pay it"). ``wait_passes`` is 0 when sweeps are off (nothing would refill it): refunded at
once. The count lives in memory: a restart gives a waiting withdrawal a fresh wait.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

import httpx
from solders.hash import Hash
from solders.message import Message
from solders.pubkey import Pubkey
from spl.memo.constants import MEMO_PROGRAM_ID
from spl.memo.instructions import create_memo
from spl.memo.models import MemoParams

from rucksack.chains.evm import transfers as evm
from rucksack.chains.evm.erc20 import balance_of_data
from rucksack.chains.registry import Chain, get_chain
from rucksack.chains.svm import transfers as svm
from rucksack.exchange.custody.db import CustodyDb
from rucksack.exchange.custody.keys import CustodyKeys
from rucksack.exchange.custody.rpc import JsonRpc, RpcError
from rucksack.exchange.custody.watchers import Ledger

log = logging.getLogger("rucksack.custody")
ACTIVE = ("pending", "signed", "refunding")
SVM_FEE = 5000  # lamports per signature
SVM_RENT_EXEMPT_SYSTEM = 890_880  # a 0-byte system account (what the hot wallet keeps)
SVM_RENT_EXEMPT_TOKEN = 2_039_280  # a 165-byte token account (the recipient's, created if absent)


class Broadcaster:
    def __init__(
        self,
        keys: CustodyKeys,
        db: CustodyDb,
        rpcs: dict[str, JsonRpc],
        ledger: Ledger,
        confirmations: int = 1,
        wait_passes: int = 0,
    ) -> None:
        self.keys = keys
        self.db = db
        self.rpcs = rpcs
        self.ledger = ledger
        self.confirmations = max(1, confirmations)
        self.wait_passes = wait_passes  # passes a withdrawal waits for the hot wallet to be refilled
        self._waited: dict[int, int] = {}  # withdrawal id -> passes waited so far
        self.short = False  # some withdrawal waits for funds: the custody loop sweeps now

    async def process_once(self) -> None:
        for w in self.db.withdrawals(statuses=ACTIVE):
            if w["chain"] not in self.rpcs:
                continue
            try:
                await self._advance(w)
            except (httpx.HTTPError, OSError) as exc:
                log.debug("withdrawal %d: node unreachable (%s); retrying", w["id"], exc)

    async def _advance(self, w: dict[str, Any]) -> None:
        chain = get_chain(w["chain"])
        rpc = self.rpcs[chain.key]
        if w["status"] == "refunding":
            await self._refund(w, w["error"] or "failed")
            return
        if w["status"] == "pending":
            try:  # the node refusing a build call (fees, nonce, blockhash) refunds, on either family
                tx = None if chain.is_svm else await self._evm_tx(chain, rpc, w)  # built once: checked, then signed
                if await self._waits_for_funds(chain, rpc, w, tx):
                    return
                raw, tx_hash = await self._sign_svm(chain, rpc, w) if tx is None else self._sign_evm(tx)
            except RpcError as exc:
                await self._refund(w, f"cannot build the transaction: {exc.message}")
                return
            self.db.update_withdrawal(w["id"], status="signed", raw=raw, tx_hash=tx_hash)
            w = {**w, "status": "signed", "raw": raw, "tx_hash": tx_hash}
        state = await self._state(chain, rpc, w["tx_hash"])
        if state is None:
            try:
                await self._send(chain, rpc, bytes(w["raw"]))
            except RpcError as exc:
                if await self._state(chain, rpc, w["tx_hash"]) is None:
                    await self._refund(w, f"broadcast refused: {exc.message}")
                return
            state = await self._state(chain, rpc, w["tx_hash"])
        if state == "confirmed":
            self.db.update_withdrawal(w["id"], status="confirmed")
            log.info("withdrawal %d confirmed: %s", w["id"], w["tx_hash"])
        elif state == "failed":
            await self._refund(w, "transaction failed on chain")

    async def _waits_for_funds(self, chain: Chain, rpc: JsonRpc, w: dict[str, Any], tx: dict[str, Any] | None) -> bool:
        """True while the hot wallet cannot pay ``w`` (on EVM: its transaction ``tx``) and it may still
        wait; refunds it when the wait is over; False (go ahead and sign) when the hot wallet holds enough."""
        short = await self._svm_short(chain, rpc, w) if tx is None else await self._evm_short(chain, rpc, w, tx)
        if short is None:
            self._waited.pop(w["id"], None)
            return False
        waited = self._waited.get(w["id"], 0)
        if waited < self.wait_passes:
            if waited == 0:
                log.info("withdrawal %d waits for the hot wallet: %s", w["id"], short)
            self._waited[w["id"]] = waited + 1
            self.short = True
            return True
        self._waited.pop(w["id"], None)
        await self._refund(w, f"the hot wallet cannot pay it: {short}")
        return True

    async def _refund(self, w: dict[str, Any], error: str) -> None:
        self.db.update_withdrawal(w["id"], status="refunding", error=error)
        await self.ledger.deposit(w["account"], w["asset"], w["atoms"], f"withdrawal-refund:{w['id']}")
        self.db.update_withdrawal(w["id"], status="refunded")
        log.warning("withdrawal %d refunded: %s", w["id"], error)

    # -- SVM -----------------------------------------------------------------------------------

    async def _svm_short(self, chain: Chain, rpc: JsonRpc, w: dict[str, Any]) -> str | None:
        hot = self.keys.svm_hot.pubkey()
        lamports = int((await rpc.call("getBalance", str(hot)))["value"])
        if w["asset"] == chain.native_symbol:
            need = w["units"] + SVM_FEE + SVM_RENT_EXEMPT_SYSTEM
            return None if lamports >= need else f"{lamports} lamports, needs {need}"
        need = SVM_FEE + SVM_RENT_EXEMPT_TOKEN
        if lamports < need:
            return f"{lamports} lamports for fees, needs {need}"
        ata = svm.associated_token_address(hot, Pubkey.from_string(chain.token.address))
        try:
            held = int((await rpc.call("getTokenAccountBalance", str(ata)))["value"]["amount"])
        except RpcError:
            held = 0  # no token account yet
        return None if held >= w["units"] else f"{held} token units, needs {w['units']}"

    async def _sign_svm(self, chain: Chain, rpc: JsonRpc, w: dict[str, Any]) -> tuple[bytes, str]:
        hot = self.keys.svm_hot
        to = Pubkey.from_string(w["to_address"])
        if w["asset"] == chain.native_symbol:
            msg = svm.native_transfer_message(hot.pubkey(), to, w["units"])
        else:
            mint = Pubkey.from_string(chain.token.address)
            msg = svm.token_transfer_message(hot.pubkey(), to, mint, w["units"], chain.token.decimals)
        memo = create_memo(
            MemoParams(
                program_id=MEMO_PROGRAM_ID, signer=hot.pubkey(), message=f"rucksack withdrawal {w['id']}".encode()
            )
        )
        ixs = [*svm.decompile(msg), memo]
        blockhash = (await rpc.call("getLatestBlockhash", {"commitment": "finalized"}))["value"]["blockhash"]
        tx = svm.sign(Message(ixs, hot.pubkey()), [hot], Hash.from_string(blockhash))
        return bytes(tx), str(tx.signatures[0])

    # -- EVM -----------------------------------------------------------------------------------

    async def _evm_tx(self, chain: Chain, rpc: JsonRpc, w: dict[str, Any]) -> dict[str, Any]:
        hot = self.keys.evm_hot
        nonce = int(await rpc.call("eth_getTransactionCount", hot.address, "pending"), 16)
        block = await rpc.call("eth_getBlockByNumber", "latest", False)
        tip = int(await rpc.call("eth_maxPriorityFeePerGas"), 16)
        fees = evm.Fees(2 * int(block["baseFeePerGas"], 16) + tip, tip)
        if w["asset"] == chain.native_symbol:
            return evm.native_transfer_tx(chain, w["to_address"], w["units"], nonce, fees)
        return evm.token_transfer_tx(chain, chain.token.address, w["to_address"], w["units"], nonce, fees)

    async def _evm_short(self, chain: Chain, rpc: JsonRpc, w: dict[str, Any], tx: dict[str, Any]) -> str | None:
        hot = self.keys.evm_hot.address
        wei = int(await rpc.call("eth_getBalance", hot, "latest"), 16)
        need = tx["value"] + tx["gas"] * tx["maxFeePerGas"]
        if wei < need:
            return f"{wei} wei, needs {need} (value + gas at the fee cap)"
        if w["asset"] == chain.native_symbol:
            return None
        call = {"to": chain.token.address, "data": "0x" + balance_of_data(hot).hex()}
        held = int(await rpc.call("eth_call", call, "latest"), 16)
        return None if held >= w["units"] else f"{held} token units, needs {w['units']}"

    def _sign_evm(self, tx: dict[str, Any]) -> tuple[bytes, str]:
        raw = evm.sign(tx, self.keys.evm_hot)
        return raw, evm.decode_raw(raw).tx_hash

    # -- both ----------------------------------------------------------------------------------

    async def _send(self, chain: Chain, rpc: JsonRpc, raw: bytes) -> None:
        if chain.is_svm:
            await rpc.call("sendTransaction", base64.b64encode(raw).decode(), {"encoding": "base64"})
        else:
            await rpc.call("eth_sendRawTransaction", "0x" + raw.hex())

    async def _state(self, chain: Chain, rpc: JsonRpc, tx_hash: str) -> str | None:
        """``confirmed``, ``failed``, ``seen`` (included, too few confirmations) or None (unknown)."""
        if chain.is_svm:
            st = (await rpc.call("getSignatureStatuses", [tx_hash], {"searchTransactionHistory": True}))["value"][0]
            if st is None:
                return None
            if st.get("err") is not None:
                return "failed"
            head = int(await rpc.call("getSlot", {"commitment": "finalized"}))
            return "confirmed" if int(st["slot"]) + self.confirmations - 1 <= head else "seen"
        receipt = await rpc.call("eth_getTransactionReceipt", tx_hash)
        if receipt is None:
            return None
        if int(receipt["status"], 16) != 1:
            return "failed"
        head = int(await rpc.call("eth_blockNumber"), 16)
        return "confirmed" if int(receipt["blockNumber"], 16) + self.confirmations - 1 <= head else "seen"
