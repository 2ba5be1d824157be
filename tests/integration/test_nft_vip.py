"""The NFT VIP perk end to end on a real devnet (ethereum) and a real ``rucksack serve``: the
devnet faucet hands the wallet a token of the devnet's ERC-721 collection, ``rucksack wallet
exchange-nft-vip`` signs the exchange's challenge with the holding address (EIP-191), the exchange
recovers the signer and asks the chain ``ownerOf``, and the account pays VIP 1 (Tier 2) fees; once
the token leaves the address, the scheduled re-check journals the lapse and the account is back on
Tier 1. Refused proofs change nothing; conservation holds after every journaled command.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.server import Devnet
from rucksack.chains.evm import erc721
from rucksack.chains.registry import DEVNET_EVM_LADS, get_chain
from rucksack.wallet import evm
from rucksack.wallet.exchange_link import ExchangeClient, ExchangeError, signing_key
from rucksack.wallet.keystore import Wallet
from rucksack.wallet.rpc import Endpoints
from tests.api.conftest import Server, start_server
from tests.api.test_fee_tiers import replay_checked
from tests.integration.wallet_harness import PASSWORD, WalletCli, fund_evm, running_devnet

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet("ethereum") as net:
        yield net


@pytest.fixture(scope="module")
def server(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("exchange")
    srv = start_server(
        data_dir,
        "--no-makers",
        "--feed",
        "manual",
        "--chain-rpc",
        f"ethereum={devnet.url('ethereum')}",
        "--nft-check-every",
        "0.3",
    )
    yield srv
    srv.stop()


def refused(call: Any, text: str) -> None:
    with pytest.raises(ExchangeError) as err:
        call()
    assert err.value.status == 400 and text in str(err.value), err.value


def test_nft_perk_granted_by_a_signed_challenge_and_lapsing_when_the_token_leaves(
    devnet: Devnet, server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = WalletCli(tmp_path, capsys, devnet)
    created = run("create", "--kdf", "test")
    holder = next(a["address"] for a in created["accounts"] if a["family"] == "evm")
    run("exchange-signup", "--exchange", server.url)
    wallet = Wallet(run.keystore)
    wallet.unlock(PASSWORD)
    client = ExchangeClient(server.url, signing_key(wallet)[0])
    assert client.request("GET", "/api/v1/account", "accountQuery")["feeTier"] == "Tier 1"

    got = run("faucet-nft", "--chain", "ethereum")
    token = got["tokenId"]
    assert (got["collection"], got["to"], token) == (DEVNET_EVM_LADS, holder, 1)  # a fresh devnet's first
    endpoints = Endpoints(run.url)
    rpc, chain = endpoints.rpc("ethereum"), get_chain("ethereum")
    fund_evm(endpoints, "ethereum", holder, 10**18)  # gas for giving the token away later

    # refused proofs: a token the address does not hold, a signature by another key, a text the
    # exchange did not issue; none changes the account
    challenge = client.nft_vip_challenge(holder)
    message = challenge["message"]
    mine = wallet.signer(wallet.account("evm", 0))
    signature = "0x" + bytes(mine.sign_message(encode_defunct(text=message)).signature).hex()
    refused(lambda: client.nft_vip_prove(holder, 2, message, signature), "not held by that address")
    stranger = Account.create()
    other = "0x" + bytes(stranger.sign_message(encode_defunct(text=message)).signature).hex()
    refused(lambda: client.nft_vip_prove(holder, token, message, other), "not made by that address")
    forged = message.replace(f"Address: {holder}", f"Address: {stranger.address}")
    forged_sig = "0x" + bytes(stranger.sign_message(encode_defunct(text=forged)).signature).hex()
    refused(lambda: client.nft_vip_prove(stranger.address, token, forged, forged_sig), "another account")
    assert client.request("GET", "/api/v1/account", "accountQuery")["nftVip"] is None

    proved = run("exchange-nft-vip", "--exchange", server.url, "--token-id", str(token))
    assert (proved["address"], proved["tokenId"], proved["nftVipLevel"], proved["feeTier"]) == (
        holder,
        str(token),
        1,
        "Tier 2",
    )
    shown = client.request("GET", "/api/v1/account", "accountQuery")
    assert (shown["feeTier"], shown["nftVipLevel"], shown["spotMakerFee"], shown["spotTakerFee"]) == (
        "Tier 2",
        1,
        "7",
        "9",
    )
    assert shown["nftVip"] == {"address": holder, "tokenId": str(token)}
    time.sleep(1)  # re-checks run meanwhile: the token is still there, nothing lapses
    assert client.request("GET", "/api/v1/account", "accountQuery")["nftVipLevel"] == 1

    # the token leaves the address: a real transfer signed by the wallet's key
    away = genesis.evm_faucet().address
    data = erc721.transfer_from_data(holder, away, token)
    evm.send(rpc, evm.sign(evm.call_tx(rpc, chain, holder, DEVNET_EVM_LADS, data), mine))
    deadline = time.monotonic() + 20
    while (account := client.request("GET", "/api/v1/account", "accountQuery"))["nftVip"] is not None:
        assert time.monotonic() < deadline, "the perk never lapsed"
        time.sleep(0.2)
    assert (account["feeTier"], account["nftVipLevel"], account["spotMakerFee"]) == ("Tier 1", 0, "8")
    replay_checked(server.data_dir)
