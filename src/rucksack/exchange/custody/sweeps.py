"""Sweeps: move credited funds from deposit addresses into the hot wallet (which pays withdrawals).

Every ``sweep_every`` custody passes, for each deposit address that has a recorded deposit on a chain:

- SVM: the lamports go to the hot wallet minus the 5,000-lamport fee the deposit address pays
  itself; then the USDC token account is emptied into the hot wallet's (the hot wallet pays the fee
  and creates its own token account idempotently; both keys sign).
- EVM: the token first -- if the address lacks gas, the hot wallet first sends it exactly
  ``gas * maxFeePerGas`` (that top-up is not a deposit: watchers ignore transfers from the hot
  wallet), the token transfer goes on a later pass; then the native balance minus the transfer's
  maximum fee.

Everything at the address moves, dust included ("the dust stays on the address and goes out with
the next sweep", chains/units.py). A sweep is not tracked like a withdrawal: each pass re-reads
balances, so a sweep that failed or is still in flight is simply tried again later (an identical
transaction is refused by the node, not paid twice).
"""

from __future__ import annotations

import base64
import logging

from solders.hash import Hash
from solders.message import Message
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import create_idempotent_associated_token_account, transfer_checked
from spl.token.models import TransferCheckedParams

from rucksack.chains.evm import transfers as evm
from rucksack.chains.evm.erc20 import balance_of_data
from rucksack.chains.registry import Chain, get_chain
from rucksack.chains.svm import transfers as svm
from rucksack.exchange.custody.db import CustodyDb
from rucksack.exchange.custody.keys import CustodyKeys
from rucksack.exchange.custody.rpc import JsonRpc, RpcError

log = logging.getLogger("rucksack.custody")
SVM_FEE = 5000


class Sweeper:
    def __init__(self, keys: CustodyKeys, db: CustodyDb, rpcs: dict[str, JsonRpc]) -> None:
        self.keys = keys
        self.db = db
        self.rpcs = rpcs
        self.sent = 0  # sweep transactions accepted by a node (tests, logs)

    async def sweep_once(self) -> None:
        for key, rpc in self.rpcs.items():
            chain = get_chain(key)
            for account in self.db.deposit_accounts(key):
                try:
                    if chain.is_svm:
                        await self._svm(chain, rpc, account)
                    else:
                        await self._evm(chain, rpc, account)
                except RpcError as exc:
                    log.debug("sweep of account %s on %s refused: %s", account, key, exc)

    # -- SVM -----------------------------------------------------------------------------------

    async def _svm(self, chain: Chain, rpc: JsonRpc, account: int) -> None:
        """Lamports first (they pay the hot wallet's fees), then the token account, each on its own."""
        dep, hot = self.keys.svm_deposit(account), self.keys.svm_hot
        blockhash = Hash.from_string((await rpc.call("getLatestBlockhash"))["value"]["blockhash"])
        lamports = int((await rpc.call("getBalance", str(dep.pubkey())))["value"])
        if lamports > 2 * SVM_FEE:
            msg = svm.native_transfer_message(dep.pubkey(), hot.pubkey(), lamports - SVM_FEE)
            try:
                await self._send_svm(rpc, bytes(svm.sign(msg, [dep], blockhash)))
            except RpcError as exc:
                log.debug("SOL sweep of account %d refused: %s", account, exc)
        mint = Pubkey.from_string(chain.token.address)
        src = svm.associated_token_address(dep.pubkey(), mint)
        try:
            tokens = int((await rpc.call("getTokenAccountBalance", str(src)))["value"]["amount"])
        except RpcError:
            tokens = 0
        if tokens > 0:
            dest = svm.associated_token_address(hot.pubkey(), mint)
            ixs = [
                create_idempotent_associated_token_account(hot.pubkey(), hot.pubkey(), mint),
                transfer_checked(
                    TransferCheckedParams(
                        program_id=TOKEN_PROGRAM_ID,
                        source=src,
                        mint=mint,
                        dest=dest,
                        owner=dep.pubkey(),
                        amount=tokens,
                        decimals=chain.token.decimals,
                    )
                ),
            ]
            await self._send_svm(rpc, bytes(svm.sign(Message(ixs, hot.pubkey()), [hot, dep], blockhash)))

    async def _send_svm(self, rpc: JsonRpc, raw: bytes) -> None:
        await rpc.call("sendTransaction", base64.b64encode(raw).decode(), {"encoding": "base64"})
        self.sent += 1

    # -- EVM -----------------------------------------------------------------------------------

    async def _evm(self, chain: Chain, rpc: JsonRpc, account: int) -> None:
        dep, hot = self.keys.evm_deposit(account), self.keys.evm_hot
        block = await rpc.call("eth_getBlockByNumber", "latest", False)
        tip = int(await rpc.call("eth_maxPriorityFeePerGas"), 16)
        fees = evm.Fees(2 * int(block["baseFeePerGas"], 16) + tip, tip)
        call = {"to": chain.token.address, "data": "0x" + balance_of_data(dep.address).hex()}
        tokens = int(await rpc.call("eth_call", call, "latest"), 16)
        native = int(await rpc.call("eth_getBalance", dep.address, "latest"), 16)
        if tokens > 0:
            need = evm.DEFAULT_TOKEN_GAS * fees.max_fee_per_gas
            if native < need:  # top up the gas from the hot wallet; the token goes next pass
                nonce = int(await rpc.call("eth_getTransactionCount", hot.address, "pending"), 16)
                tx = evm.native_transfer_tx(chain, dep.address, need - native, nonce, fees)
                await self._send_evm(rpc, evm.sign(tx, hot))
                return
            nonce = int(await rpc.call("eth_getTransactionCount", dep.address, "pending"), 16)
            tx = evm.token_transfer_tx(chain, chain.token.address, hot.address, tokens, nonce, fees)
            await self._send_evm(rpc, evm.sign(tx, dep))
            return
        cost = evm.NATIVE_GAS * fees.max_fee_per_gas
        if native > 2 * cost:
            nonce = int(await rpc.call("eth_getTransactionCount", dep.address, "pending"), 16)
            tx = evm.native_transfer_tx(chain, hot.address, native - cost, nonce, fees)
            await self._send_evm(rpc, evm.sign(tx, dep))

    async def _send_evm(self, rpc: JsonRpc, raw: bytes) -> None:
        await rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
        self.sent += 1
