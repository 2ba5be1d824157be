"""Exchange custody end to end: a real ``rucksack serve --chain-rpc`` beside a real devnet.

One devnet (Solana and Base) and one exchange per module. Transfers are signed locally and sent
with the chains' own clients (solana-py's AsyncClient, web3.py); the exchange only sees them on
chain. Tests run in order: addresses, deposits (and a restart that must not credit twice),
withdrawals (landing, refused, refunded).
"""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from web3 import Web3

from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.server import Devnet
from rucksack.chains.evm import erc20
from rucksack.chains.evm import transfers as evm
from rucksack.chains.registry import get_chain
from rucksack.chains.svm import transfers as svm
from rucksack.exchange.custody.keys import CustodyKeys
from rucksack.exchange.custody.seed import load_or_create
from tests.api.conftest import Creds, Server, Signed, sandbox_account, start_server

SOLANA, BASE = get_chain("solana"), get_chain("base")
MINT = Pubkey.from_string(SOLANA.token.address)


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    net = Devnet("127.0.0.1", 0, chains=["solana", "base", "ethereum"]).start()
    yield net
    net.stop()


def _serve(devnet: Devnet, data_dir: Path, extra: tuple[str, ...] = ("--sweep-every", "0")) -> Server:
    return start_server(
        data_dir,
        "--no-makers",
        "--feed",
        "manual",
        "--chain-rpc",
        f"solana={devnet.url('solana')}",
        "--chain-rpc",
        f"base={devnet.url('base')}",
        "--chain-rpc",
        f"ethereum={devnet.url('ethereum')}",
        "--chain-poll",
        "0.1",
        *extra,  # by default deposit addresses keep their balances (test_custody_sweep.py sweeps)
    )


class World:
    serve_args: tuple[str, ...] = ("--sweep-every", "0")

    def __init__(self, devnet: Devnet, data_dir: Path) -> None:
        self.devnet = devnet
        self.data_dir = data_dir
        self.server = _serve(devnet, data_dir, self.serve_args)
        self.creds: Creds = sandbox_account(self.server, USDC="1")
        self.w3 = Web3(Web3.HTTPProvider(devnet.url("base")))

    @property
    def client(self) -> Signed:
        return Signed(self.server.url, self.creds)

    def restart(self) -> None:
        self.server.stop()
        self.server = _serve(self.devnet, self.data_dir, self.serve_args)

    def get(self, path: str, instruction: str, **params: Any) -> Any:
        r = self.client.request("GET", path, instruction, params)
        assert r.status_code == 200, r.text
        return r.json()

    def balances(self) -> dict[str, str]:
        return {k: v["available"] for k, v in self.get("/api/v1/capital", "balanceQuery").items()}

    def address(self, blockchain: str) -> str:
        return str(
            self.get("/wapi/v1/capital/deposit/address", "depositAddressQuery", blockchain=blockchain)["address"]
        )

    def withdraw(self, **body: Any) -> Any:
        return self.client.request("POST", "/wapi/v1/capital/withdrawals", "withdraw", body)

    # -- chain side ----------------------------------------------------------------------------

    def svm_send(self, to: str, lamports: int = 0, usdc: int = 0) -> str:
        faucet = genesis.svm_faucet()

        async def send() -> str:
            async with AsyncClient(self.devnet.url("solana")) as client:
                bh = (await client.get_latest_blockhash()).value.blockhash
                if lamports:
                    msg = svm.native_transfer_message(faucet.pubkey(), Pubkey.from_string(to), lamports)
                else:
                    msg = svm.token_transfer_message(faucet.pubkey(), Pubkey.from_string(to), MINT, usdc, 6)
                tx = svm.sign(msg, [faucet], bh)
                return str((await client.send_raw_transaction(bytes(tx))).value)

        return asyncio.run(send())

    def svm_balance(self, owner: str, token: bool = False) -> int:
        async def read() -> int:
            async with AsyncClient(self.devnet.url("solana")) as client:
                if not token:
                    return int((await client.get_balance(Pubkey.from_string(owner))).value)
                ata = svm.associated_token_address(Pubkey.from_string(owner), MINT)
                return int((await client.get_token_account_balance(ata)).value.amount)

        return asyncio.run(read())

    def evm_send(self, to: str, wei: int = 0, usdc: int = 0, chain: str = "base") -> str:
        faucet = genesis.evm_faucet()
        w3 = self.w3 if chain == "base" else Web3(Web3.HTTPProvider(self.devnet.url(chain)))
        c = get_chain(chain)
        nonce = w3.eth.get_transaction_count(faucet.address)
        base_fee = w3.eth.get_block("latest")["baseFeePerGas"]
        fees = evm.Fees(2 * base_fee + 10**9, 10**9)
        if wei:
            tx = evm.native_transfer_tx(c, to, wei, nonce, fees)
        else:
            tx = evm.token_transfer_tx(c, c.token.address, to, usdc, nonce, fees)
        h = w3.eth.send_raw_transaction(evm.sign(tx, faucet))
        assert w3.eth.wait_for_transaction_receipt(h)["status"] == 1
        return "0x" + bytes(h).hex()

    def evm_usdc(self, owner: str) -> int:
        out = self.w3.eth.call({"to": BASE.token.address, "data": erc20.balance_of_data(owner)})  # type: ignore[typeddict-item]
        return int.from_bytes(out, "big")


@pytest.fixture(scope="module")
def world(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World(devnet, tmp_path_factory.mktemp("custody"))
    yield w
    w.server.stop()


def wait_for(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Until ``check()`` returns something truthy (returned), polling every 0.1 s; shared by the
    custody and wallet-exchange tests."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


# -- addresses ---------------------------------------------------------------------------------


def test_deposit_addresses_per_chain_and_encrypted_seed(world: World) -> None:
    sol = world.address("Solana")
    base = world.address("Base")
    assert world.address("Solana") == sol  # deterministic
    assert world.address("Ethereum") == base  # EVM chains share the address
    assert world.address("Eclipse") == sol  # ... and so do the SVM chains (deposits differ by chain)
    keys = CustodyKeys(load_or_create(world.data_dir, sandbox=True))
    assert sol == str(keys.svm_deposit(world.creds.account).pubkey())
    assert base == keys.evm_deposit(world.creds.account).address
    r = world.client.request("GET", "/wapi/v1/capital/deposit/address", "depositAddressQuery", {"blockchain": "Doge"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_CLIENT_REQUEST"
    seed_text = (world.data_dir / "custody.seed").read_text()
    assert "xchacha20poly1305" in seed_text and "argon2id" in seed_text
    assert stat.S_IMODE((world.data_dir / "custody.key").stat().st_mode) == 0o600


# -- deposits ----------------------------------------------------------------------------------

SOL_IN = 1_500_000_001  # lamports: SOL has 9 exchange decimals, so no dust
ETH_IN = 123_456_789_123_456_789  # wei: 0.12345678 ETH credited, 9_123_456_789 wei of dust


def deposits(world: World) -> list[dict[str, Any]]:
    return list(world.get("/wapi/v1/capital/deposits", "depositQueryAll"))


def test_deposits_on_solana_base_and_ethereum_are_credited_once(world: World) -> None:
    sol, base = world.address("Solana"), world.address("Base")
    sigs = {world.svm_send(sol, lamports=SOL_IN), world.svm_send(sol, usdc=25_000_000)}
    hashes = {world.evm_send(base, wei=ETH_IN), world.evm_send(base, usdc=10_500_000)}
    hashes.add(world.evm_send(world.address("Ethereum"), wei=10**16, chain="ethereum"))  # a second EVM chain
    want = {"SOL": "1.500000001", "USDC": "36.5", "ETH": "0.13345678"}  # USDC: 1 sandbox + 25 + 10.5
    wait_for(lambda: world.balances() == want)
    chain = [d for d in deposits(world) if d["source"] in ("solana", "base", "ethereum")]
    assert len(chain) == 5
    assert {d["source"] for d in chain} == {"solana", "base", "ethereum"}
    assert {d["transactionHash"] for d in chain} == sigs | hashes
    by_symbol = {(d["source"], d["symbol"]): d for d in chain}
    eth = by_symbol[("base", "ETH")]
    assert eth["quantity"] == "0.12345678" and eth["status"] == "confirmed"
    assert eth["toAddress"] == base and eth["fromAddress"] == genesis.evm_faucet().address
    usdc = by_symbol[("solana", "USDC")]
    assert usdc["toAddress"] == sol and usdc["fromAddress"] == str(genesis.svm_faucet().pubkey())
    time.sleep(0.5)  # more polls see the same transfers and credit nothing new
    assert world.balances() == want


def test_restart_with_lost_cursors_does_not_credit_twice(world: World) -> None:
    before, address = world.balances(), world.address("Solana")
    world.server.stop()
    with sqlite3.connect(world.data_dir / "custody.sqlite") as db:
        db.execute("DELETE FROM cursors")  # the watcher rescans every block from genesis
    sig = world.svm_send(address, lamports=10**9)  # sent while the exchange is down
    world.restart()
    head = world.w3.eth.block_number
    wait_for(lambda: _cursor(world, "base") > head)
    wait_for(lambda: world.balances()["SOL"] == "2.500000001")
    time.sleep(0.3)
    assert world.balances() == {**before, "SOL": "2.500000001"}
    chain = [d for d in deposits(world) if d["source"] in ("solana", "base", "ethereum")]
    assert len(chain) == 6 and sum(d["transactionHash"] == sig for d in chain) == 1


def _cursor(world: World, chain: str) -> int:
    with sqlite3.connect(world.data_dir / "custody.sqlite") as db:
        row = db.execute("SELECT value FROM cursors WHERE chain = ?", (chain,)).fetchone()
    return int(row[0]) if row else 0


# -- withdrawals -------------------------------------------------------------------------------


def withdrawals(world: World) -> dict[int, dict[str, Any]]:
    return {w["id"]: w for w in world.get("/wapi/v1/capital/withdrawals", "withdrawalQueryAll")}


def settled(world: World, wid: int) -> dict[str, Any]:
    return wait_for(lambda: (w := withdrawals(world).get(wid)) and w["status"] != "pending" and w)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def hot(world: World) -> CustodyKeys:
    """Fund the hot wallet from the devnet faucets (a real exchange sweeps deposits into it)."""
    keys = CustodyKeys(load_or_create(world.data_dir, sandbox=True))
    world.svm_send(str(keys.svm_hot.pubkey()), lamports=10 * 10**9)
    world.svm_send(str(keys.svm_hot.pubkey()), usdc=100_000_000)
    world.evm_send(keys.evm_hot.address, wei=10**18)
    return keys


def test_withdrawals_land_on_chain_and_show_confirmed(world: World, hot: CustodyKeys) -> None:
    sol_to, eth_to = str(Keypair().pubkey()), Web3.to_checksum_address("0x" + "ab" * 20)
    before = world.balances()
    r = world.withdraw(address=sol_to, blockchain="Solana", quantity="0.75", symbol="SOL", clientId="memo-1")
    assert r.status_code == 200, r.text
    sol_w = r.json()
    assert sol_w["status"] == "pending" and sol_w["toAddress"] == sol_to and sol_w["blockchain"] == "Solana"
    assert world.balances()["SOL"] == "1.750000001"  # held at once
    usdc_w = world.withdraw(address=sol_to, blockchain="Solana", quantity="12.5", symbol="USDC").json()
    eth_w = world.withdraw(address=eth_to, blockchain="Base", quantity="0.1", symbol="ETH").json()
    for w, chain_check in (
        (sol_w, lambda: world.svm_balance(sol_to) == 750_000_000),
        (usdc_w, lambda: world.svm_balance(sol_to, token=True) == 12_500_000),
        (eth_w, lambda: world.w3.eth.get_balance(eth_to) == 10**17),  # type: ignore[arg-type]
    ):
        done = settled(world, w["id"])
        assert done["status"] == "confirmed", done
        assert done["transactionHash"] and done["clientId"] == w["clientId"]
        assert chain_check()
    assert world.w3.eth.get_transaction(eth_w_hash := settled(world, eth_w["id"])["transactionHash"])["to"] == eth_to
    assert eth_w_hash.startswith("0x")
    after = world.balances()
    assert after["SOL"] == "1.750000001" and after["ETH"] == "0.03345678"
    assert float(after["USDC"]) == float(before["USDC"]) - 12.5


def test_invalid_addresses_and_over_limit_are_refused(world: World, hot: CustodyKeys) -> None:
    before = world.balances()
    cases = [
        (dict(address="0x" + "ab" * 20, blockchain="Solana", quantity="0.1", symbol="SOL"), "INVALID_CLIENT_REQUEST"),
        (
            dict(address=str(Keypair().pubkey()), blockchain="Base", quantity="0.01", symbol="ETH"),
            "INVALID_CLIENT_REQUEST",
        ),
        (dict(address="0x" + "aB" * 20, blockchain="Base", quantity="0.01", symbol="ETH"), "INVALID_CLIENT_REQUEST"),
        (dict(address="not-an-address", blockchain="Solana", quantity="0.1", symbol="SOL"), "INVALID_CLIENT_REQUEST"),
        (
            dict(address=str(Keypair().pubkey()), blockchain="Bitcoin", quantity="1", symbol="BTC"),
            "INVALID_CLIENT_REQUEST",
        ),
        (dict(address=str(Keypair().pubkey()), blockchain="Solana", quantity="1", symbol="BTC"), "INVALID_ASSET"),
        (
            dict(address=str(Keypair().pubkey()), blockchain="Solana", quantity="1000", symbol="SOL"),
            "INSUFFICIENT_FUNDS",
        ),
        (dict(address=str(Keypair().pubkey()), blockchain="Solana", quantity="-1", symbol="SOL"), "INVALID_QUANTITY"),
    ]
    for body, code in cases:
        r = world.withdraw(**body)
        assert r.status_code == 400 and r.json()["code"] == code, (body, r.text)
    assert world.balances() == before
    assert all(w["status"] != "pending" for w in withdrawals(world).values())


def test_failed_transfer_returns_the_funds(world: World, hot: CustodyKeys) -> None:
    """The hot wallet holds no Base USDC: the token transfer reverts and the funds come back."""
    before = world.balances()
    to = Web3.to_checksum_address("0x" + "cd" * 20)
    w = world.withdraw(address=to, blockchain="Base", quantity="5", symbol="USDC").json()
    done = settled(world, w["id"])
    assert done["status"] == "refunded"
    if done["transactionHash"] is not None:  # mined and reverted (else the node refused it outright)
        assert world.w3.eth.get_transaction_receipt(done["transactionHash"])["status"] == 0
    wait_for(lambda: world.balances() == before)
    assert world.evm_usdc(to) == 0
    refunds = [d for d in deposits(world) if d["source"] == "internal" and d["quantity"] == "5"]
    assert len(refunds) == 1 and refunds[0]["transactionHash"] is None


def test_devnet_history_methods_parse_in_solana_py(world: World) -> None:
    """getSignaturesForAddress and getTransaction (added for the watcher) as solana-py reads them."""
    sol = world.address("Solana")

    async def read() -> tuple[int, int]:
        async with AsyncClient(world.devnet.url("solana")) as client:
            sigs = (await client.get_signatures_for_address(Pubkey.from_string(sol), limit=2)).value
            tx = (await client.get_transaction(sigs[0].signature, encoding="base64")).value
            assert tx is not None and tx.transaction.meta is not None
            return len(sigs), tx.transaction.meta.fee

    assert asyncio.run(read()) == (2, 5000)


# -- reserves ----------------------------------------------------------------------------------


def test_onchain_holdings_of_custody_addresses(world: World, hot: CustodyKeys) -> None:
    from eth_account import Account
    from eth_account.messages import encode_defunct
    from solders.signature import Signature

    from rucksack.exchange.custody.db import CustodyDb
    from rucksack.exchange.custody.reserves import as_custody_holdings, onchain_holdings, sign_control, totals
    from rucksack.exchange.custody.rpc import JsonRpc

    db = CustodyDb(world.data_dir / "custody.sqlite")

    async def read() -> list[Any]:
        rpcs = {k: JsonRpc(world.devnet.url(k)) for k in ("solana", "base")}
        try:
            return await onchain_holdings(hot, db, rpcs, listed={"SOL", "USDC", "ETH"})
        finally:
            for r in rpcs.values():
                await r.aclose()

    holdings = {(h.chain, h.role, h.asset): h for h in asyncio.run(read())}
    account = f"deposit:{world.creds.account}"
    assert holdings[("solana", account, "SOL")].units == SOL_IN + 10**9
    assert holdings[("solana", account, "USDC")].atoms == 25_000_000
    eth = holdings[("base", account, "ETH")]
    assert (eth.units, eth.atoms) == (ETH_IN, 12_345_678)  # dust is not counted as reserves
    assert holdings[("base", account, "USDC")].atoms == 10_500_000
    assert holdings[("solana", "hot", "USDC")].atoms == 100_000_000 - 12_500_000
    # the fixture's 1 ETH and the sandbox's 0.1 ETH gas float (custody/sandbox_gas.py), less the
    # 0.1 ETH withdrawn and the gas paid
    assert 0 < holdings[("base", "hot", "ETH")].units < 10**18 + 10**17 - 10**17
    assert totals(holdings.values())["USDC"] == 25_000_000 + 10_500_000 + 87_500_000
    rows = as_custody_holdings(holdings.values())
    assert all(r.address.split(":")[0] in ("solana", "base") and r.height > 0 for r in rows)
    challenge = "rucksack reserves challenge"
    sol = world.address("Solana")
    sig = sign_control(hot, db, SOLANA, sol, challenge)
    assert Signature.from_string(sig).verify(Pubkey.from_string(sol), challenge.encode())
    base = world.address("Base")
    sig = sign_control(hot, db, BASE, base, challenge)
    assert Account.recover_message(encode_defunct(text=challenge), signature=sig) == base
    with pytest.raises(KeyError):
        sign_control(hot, db, BASE, Web3.to_checksum_address("0x" + "ef" * 20), challenge)


# -- ccxt --------------------------------------------------------------------------------------


def test_ccxt_reads_addresses_deposits_and_withdrawals(world: World, hot: CustodyKeys) -> None:
    import ccxt

    url = world.server.url
    ex = ccxt.backpack(
        {"urls": {"api": {"public": url, "private": url}}, "apiKey": world.creds.api_key, "secret": world.creds.secret}
    )
    assert ex.fetch_deposit_address("SOL", {"network": "SOL"})["address"] == world.address("Solana")
    deps = [d for d in ex.fetch_deposits() if d["network"] in ("SOL", "BASE")]
    assert {(d["currency"], d["status"]) for d in deps} >= {("SOL", "ok"), ("ETH", "ok"), ("USDC", "ok")}
    assert all(d["txid"] and d["addressTo"] and d["addressFrom"] for d in deps)
    out = ex.withdraw("SOL", 0.01, str(Keypair().pubkey()), params={"network": "SOL"})
    assert out["status"] == "pending"
    done = settled(world, int(out["id"]))
    assert done["status"] == "confirmed"
    statuses = {w["id"]: w["status"] for w in ex.fetch_withdrawals()}
    assert statuses[str(done["id"])] == "ok"
