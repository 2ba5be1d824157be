"""``rucksack devnet`` against unmodified clients: solana-py's AsyncClient and web3.py's HTTPProvider.

One devnet (all seven chains) per module on 127.0.0.1 with a free port; nothing leaves loopback.
solana-py 0.41 ships only the asyncio client, so the SVM tests drive it with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.core import RPCException
from solana.rpc.models import TokenAccountOpts
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from web3 import Web3
from web3.exceptions import Web3RPCError

from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.server import Devnet
from rucksack.chains.evm import erc20
from rucksack.chains.evm import transfers as evm
from rucksack.chains.registry import evm_chains, get_chain, svm_chains
from rucksack.chains.svm import transfers as svm

SOL = 10**9


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    net = Devnet("127.0.0.1", 0).start()
    try:
        yield net
    finally:
        net.stop()


def test_index_lists_every_chain(devnet: Devnet) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{devnet.port}/", timeout=5) as r:
        index = json.loads(r.read())
    assert set(index["chains"]) == {"solana", "eclipse", "ethereum", "base", "arbitrum", "optimism", "polygon"}
    assert index["chains"]["base"]["chainId"] == 8453


# -- SVM ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("chain", [c.key for c in svm_chains()])
def test_native_transfer_through_solana_py(devnet: Devnet, chain: str) -> None:
    async def flow() -> None:
        async with AsyncClient(devnet.url(chain)) as client:
            assert await client.is_connected()
            assert (await client.get_slot()).value >= 1
            sender, recipient = Keypair(), Keypair()
            airdrop = (await client.request_airdrop(sender.pubkey(), 2 * SOL)).value
            await client.confirm_transaction(airdrop, commitment=Confirmed)
            assert (await client.get_balance(sender.pubkey())).value == 2 * SOL

            blockhash = (await client.get_latest_blockhash()).value.blockhash
            tx = svm.sign(
                svm.native_transfer_message(sender.pubkey(), recipient.pubkey(), SOL // 2), [sender], blockhash
            )
            sim = await svm.simulate(client, tx)
            assert sim.ok and sim.units_consumed
            sig = (await client.send_transaction(tx)).value
            await client.confirm_transaction(sig, commitment=Confirmed)
            statuses = (await client.get_signature_statuses([sig])).value
            assert statuses[0] is not None and statuses[0].err is None

            assert (await client.get_balance(recipient.pubkey())).value == SOL // 2
            fee = 5000
            assert (await client.get_balance(sender.pubkey())).value == 2 * SOL - SOL // 2 - fee

            # overspending fails preflight with the node's error, and moves nothing
            broke = svm.sign(
                svm.native_transfer_message(sender.pubkey(), recipient.pubkey(), 5 * SOL), [sender], blockhash
            )
            with pytest.raises(RPCException):
                await client.send_transaction(broke)
            assert (await client.get_balance(recipient.pubkey())).value == SOL // 2

    asyncio.run(flow())


def test_spl_token_transfer_through_solana_py(devnet: Devnet) -> None:
    chain = get_chain("solana")
    mint = Pubkey.from_string(chain.token.address)
    faucet = genesis.svm_faucet()

    async def flow() -> None:
        async with AsyncClient(devnet.url("solana")) as client:
            owner = Keypair().pubkey()
            blockhash = (await client.get_latest_blockhash()).value.blockhash
            message = svm.token_transfer_message(faucet.pubkey(), owner, mint, 12_345_678, chain.token.decimals)
            tx = svm.sign(message, [faucet], blockhash)
            decoded = svm.decode_transfers(bytes(tx))
            assert [(t.asset, t.amount) for t in decoded.transfers] == [(chain.token.address, 12_345_678)]
            sig = (await client.send_transaction(tx)).value
            await client.confirm_transaction(sig, commitment=Confirmed)

            ata = svm.associated_token_address(owner, mint)
            balance = (await client.get_token_account_balance(ata)).value
            assert (balance.amount, balance.decimals, balance.ui_amount_string) == ("12345678", 6, "12.345678")
            accounts = (await client.get_token_accounts_by_owner(owner, TokenAccountOpts(mint=mint))).value
            assert [a.pubkey for a in accounts] == [ata]
            info = (await client.get_account_info(ata)).value
            assert info is not None and len(info.data) == 165

    asyncio.run(flow())


# -- EVM ---------------------------------------------------------------------------------------


def _fees(w3: Web3) -> evm.Fees:
    base = int(w3.eth.get_block("latest")["baseFeePerGas"])
    tip = int(w3.eth.max_priority_fee)
    return evm.Fees(2 * base + tip, tip)


@pytest.mark.parametrize("chain", [c.key for c in evm_chains()])
def test_eth_and_erc20_transfer_through_web3(devnet: Devnet, chain: str) -> None:
    c = get_chain(chain)
    w3 = Web3(Web3.HTTPProvider(devnet.url(chain)))
    assert w3.is_connected() and w3.eth.chain_id == c.chain_id
    faucet = genesis.evm_faucet()
    recipient = Web3.to_checksum_address("0x" + bytes([c.chain_id % 251 + 1] * 20).hex())

    tx = evm.native_transfer_tx(c, recipient, 10**17, w3.eth.get_transaction_count(faucet.address), _fees(w3))
    assert evm.simulate(w3, tx, faucet.address).ok
    tx_hash = w3.eth.send_raw_transaction(evm.sign(tx, faucet))
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)
    assert receipt["status"] == 1
    assert w3.eth.get_balance(recipient) == 10**17

    token = w3.eth.contract(address=c.token.address, abi=erc20.artifact()["abi"])
    assert token.functions.decimals().call() == 6
    tx = evm.token_transfer_tx(
        c, c.token.address, recipient, 2_500_000, w3.eth.get_transaction_count(faucet.address), _fees(w3)
    )
    raw = evm.sign(tx, faucet)
    decoded = evm.decode_raw(raw)
    assert decoded.transfer is not None and decoded.transfer.recipient == recipient
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw), timeout=10)
    assert receipt["status"] == 1
    assert token.functions.balanceOf(recipient).call() == 2_500_000
    (event,) = token.events.Transfer().process_receipt(receipt)
    assert event["args"]["value"] == 2_500_000


def test_wrong_chain_id_and_unprotected_transactions_are_rejected(devnet: Devnet) -> None:
    w3 = Web3(Web3.HTTPProvider(devnet.url("base")))
    faucet = genesis.evm_account(1)
    nonce = w3.eth.get_transaction_count(faucet.address)
    mainnet_tx = evm.native_transfer_tx(get_chain("ethereum"), faucet.address, 1, nonce, _fees(w3))
    with pytest.raises(Web3RPCError, match="invalid chain id"):
        w3.eth.send_raw_transaction(evm.sign(mainnet_tx, faucet))
    legacy = {"nonce": nonce, "to": faucet.address, "value": 1, "gas": 21000, "gasPrice": 10**10}
    with pytest.raises(Web3RPCError, match="EIP-155"):
        w3.eth.send_raw_transaction(faucet.sign_transaction(legacy).raw_transaction)
    assert w3.eth.get_transaction_count(faucet.address) == nonce


def test_erc20_overspend_simulates_as_revert(devnet: Devnet) -> None:
    c = get_chain("polygon")
    w3 = Web3(Web3.HTTPProvider(devnet.url("polygon")))
    poor = genesis.evm_account(2)
    tx = evm.token_transfer_tx(c, c.token.address, poor.address, 1, 0, _fees(w3))
    sim = evm.simulate(w3, tx, poor.address)
    assert not sim.ok and "exceeds balance" in (sim.error or "")


def test_cli_refuses_a_non_loopback_host() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "rucksack", "devnet", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "loopback" in out.stderr
