"""Devnet faucet: fund a wallet address on the local devnet in one call (testing only).

- SOL/ETH-on-SVM native coins come from ``requestAirdrop`` (what Solana's own devnet and test
  validator offer). Everything else is a real signed transfer from the devnet's faucet key, whose
  mnemonic is public (``rucksack.chains.devnet.genesis``): the token on SVM chains, the native coin
  and the token on EVM chains.
- Refused unless the chain's RPC URL is on loopback **and** the node says it is the Rucksack devnet
  (EVM ``web3_clientVersion``; SVM ``getIdentity`` equal to the devnet faucet). A public faucet key
  must never be pointed at a real network, even by accident.
- Amounts are decimal strings turned into base units by ``send.resolve_amount`` (exact; too many
  decimals is an error, never a rounding).
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

from rucksack.chains.devnet import genesis
from rucksack.chains.registry import Chain, get_chain
from rucksack.wallet import evm, svm
from rucksack.wallet.rpc import Endpoints, Rpc, RpcError, RpcUnreachable
from rucksack.wallet.send import resolve_amount

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEVNET_CLIENT = "rucksack-devnet"


class NotADevnet(ValueError):
    """The endpoint is not the local Rucksack devnet, so its faucet key must not be used there."""


def require_devnet(url: str, rpc: Rpc, chain: Chain) -> None:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise NotADevnet(f"the faucet only works against the local devnet (loopback), not {host or url}")
    try:
        if chain.is_svm:
            who = str(rpc.call("getIdentity").get("identity", ""))
            ok = who == str(genesis.svm_faucet().pubkey())
        else:
            who = str(rpc.call("web3_clientVersion"))
            ok = who.startswith(DEVNET_CLIENT)
    except RpcUnreachable:
        raise
    except RpcError as exc:
        raise NotADevnet(f"{url} does not answer as a Rucksack {chain.family.value} devnet ({exc})") from None
    if not ok:
        raise NotADevnet(f"{url} is not a Rucksack devnet ({who})")


def _airdrop(rpc: Rpc, to: str, lamports: int, timeout: float = 30.0) -> str:
    sig = str(rpc.call("requestAirdrop", to, lamports))
    deadline = time.monotonic() + timeout
    while True:
        status = rpc.call("getSignatureStatuses", [sig])["value"][0]
        if status is not None and status.get("confirmationStatus") in ("confirmed", "finalized"):
            return sig
        if time.monotonic() > deadline:
            raise RpcError(0, f"airdrop {sig} not confirmed after {timeout:.0f} s")
        time.sleep(0.1)


def fund(endpoints: Endpoints, chain_key: str, asset: str, to: str, amount: str) -> dict[str, Any]:
    """Send ``amount`` of ``asset`` to ``to`` on the devnet; returns the transaction id."""
    chain = get_chain(chain_key)
    rpc = endpoints.rpc(chain.key)
    require_devnet(endpoints.url(chain.key), rpc, chain)
    resolved, units = resolve_amount(chain, rpc, asset, amount)
    if units <= 0:
        raise ValueError("the amount must be positive")
    out: dict[str, Any] = {"chain": chain.key, "to": to, "asset": resolved, "amount": amount, "units": units}
    if chain.is_svm and resolved == "native":
        return {**out, "signature": _airdrop(rpc, to, units)}
    if chain.is_svm:
        kp = genesis.svm_faucet()
        tx = svm.sign(rpc, svm.transfer_message(rpc, chain, kp.pubkey(), to, resolved, units), [kp])
        return {**out, "signature": svm.send(rpc, tx)}
    acct = genesis.evm_faucet()
    receipt = evm.send(rpc, evm.sign(evm.transfer_tx(rpc, chain, acct.address, to, resolved, units), acct))
    return {**out, "txHash": receipt["transactionHash"]}


def fund_nft(endpoints: Endpoints, chain_key: str, to: str) -> dict[str, Any]:
    """Hand ``to`` the lowest token of the devnet NFT collection the faucet still holds (a real
    signed ``transferFrom``); ``ValueError`` once all are given out."""
    from rucksack.chains.evm import erc721
    from rucksack.chains.registry import DEVNET_EVM_LADS

    chain = get_chain(chain_key)
    if not chain.is_evm:
        raise ValueError("the NFT collection lives on the EVM devnet chains")
    rpc = endpoints.rpc(chain.key)
    require_devnet(endpoints.url(chain.key), rpc, chain)
    acct = genesis.evm_faucet()
    for token_id in range(1, erc721.SUPPLY + 1):
        result = rpc.call(
            "eth_call", {"to": DEVNET_EVM_LADS, "data": "0x" + erc721.owner_of_data(token_id).hex()}, "latest"
        )
        if erc721.decode_owner(bytes.fromhex(str(result).removeprefix("0x"))) == acct.address:
            data = erc721.transfer_from_data(acct.address, to, token_id)
            receipt = evm.send(rpc, evm.sign(evm.call_tx(rpc, chain, acct.address, DEVNET_EVM_LADS, data), acct))
            return {
                "chain": chain.key,
                "to": to,
                "collection": DEVNET_EVM_LADS,
                "tokenId": token_id,
                "txHash": receipt["transactionHash"],
            }
    raise ValueError("the devnet faucet has given out every token of the collection")
