"""On-chain balances of the custody addresses, for the proof-of-reserves statement (issue 6 item 4).

``onchain_holdings`` reads, on every chain custody is connected to, the native and USDC balances of
the hot wallet and of every deposit address handed out, at one height per chain (EVM: balances read
*at* that block number; SVM: the slot read first -- the devnet and ``getBalance`` cannot pin a past
slot, so the height is a lower bound). Balances are converted to exchange atoms with the deposit
dust rule (rounded down: reserves are never overstated). Zero balances are left out; assets the
exchange does not list (POL) are skipped.

``as_custody_holdings`` turns them into ``reserves.liabilities.CustodyHolding`` rows (one per address
and asset), and ``sign_control`` proves control of an address by signing the statement's
``challenge`` with its key (SVM: ed25519 over the UTF-8 bytes, base58; EVM: EIP-191 ``personal_sign``,
0x-hex), so a verifier can check each holding's address belongs to the exchange; ``control_signers``
prepares those signers ahead (the challenge contains the snapshot id, known only once the tree is
built in a worker thread). ``reserves_export`` publishes them as ``reserves.json``'s on-chain rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from eth_account.messages import encode_defunct
from solders.pubkey import Pubkey

from rucksack.chains.evm.erc20 import balance_of_data
from rucksack.chains.registry import Chain, get_chain
from rucksack.chains.svm.transfers import associated_token_address
from rucksack.chains.units import deposit_credit
from rucksack.exchange.custody.db import CustodyDb
from rucksack.exchange.custody.keys import CustodyKeys
from rucksack.exchange.custody.rpc import JsonRpc, RpcError
from rucksack.reserves.liabilities import CustodyHolding


@dataclass(frozen=True, slots=True)
class OnchainHolding:
    chain: str
    address: str
    asset: str
    units: int  # chain units
    atoms: int  # exchange atoms, rounded down
    height: int  # slot or block the balances were read at
    role: str  # "hot" or "deposit:<account>"


async def onchain_holdings(
    keys: CustodyKeys, db: CustodyDb, rpcs: dict[str, JsonRpc], listed: Iterable[str] | None = None
) -> list[OnchainHolding]:
    listed_set = set(listed) if listed is not None else None
    out: list[OnchainHolding] = []
    for key, rpc in rpcs.items():
        chain = get_chain(key)
        owners = {keys.hot_address(chain): "hot"}
        owners.update({a: f"deposit:{n}" for a, n in db.addresses(key).items()})
        height = await _height(chain, rpc)
        for address, role in owners.items():
            for asset, units, dec, xdec in await _balances(chain, rpc, address, height):
                if units <= 0 or (listed_set is not None and asset not in listed_set):
                    continue
                atoms = deposit_credit(units, dec, xdec).atoms
                out.append(OnchainHolding(key, address, asset, units, atoms, height, role))
    return out


def totals(holdings: Iterable[OnchainHolding]) -> dict[str, int]:
    """Atoms per exchange asset over every chain and address."""
    out: dict[str, int] = {}
    for h in holdings:
        out[h.asset] = out.get(h.asset, 0) + h.atoms
    return out


def as_custody_holdings(holdings: Iterable[OnchainHolding]) -> list[CustodyHolding]:
    return [CustodyHolding(h.asset, h.atoms, f"{h.chain}:{h.address}", h.height) for h in holdings if h.atoms]


def sign_control(keys: CustodyKeys, db: CustodyDb, chain: Chain, address: str, challenge: str) -> str:
    """Signature by ``address``'s key over ``challenge``; ``KeyError`` for an address custody does not hold."""
    if address == keys.hot_address(chain):
        account = None
    else:
        account = db.addresses(chain.key)[address]
    if chain.is_svm:
        kp = keys.svm_hot if account is None else keys.svm_deposit(account)
        return str(kp.sign_message(challenge.encode()))
    acct = keys.evm_hot if account is None else keys.evm_deposit(account)
    return "0x" + bytes(acct.sign_message(encode_defunct(text=challenge)).signature).hex()


def control_signers(
    keys: CustodyKeys, db: CustodyDb, holdings: Iterable[OnchainHolding]
) -> dict[tuple[str, str], Callable[[str], str]]:
    """One signer per ``(chain, address)`` of ``holdings``: ``challenge -> signature`` as
    :func:`sign_control` makes it. The custody db is read here (its connection belongs to the
    calling thread); the signers themselves only use keys, so they run in any thread."""
    out: dict[tuple[str, str], Callable[[str], str]] = {}
    for h in holdings:
        chain = get_chain(h.chain)
        account = None if h.address == keys.hot_address(chain) else db.addresses(chain.key)[h.address]
        out[(h.chain, h.address)] = _signer(keys, chain, account)
    return out


def _signer(keys: CustodyKeys, chain: Chain, account: int | None) -> Callable[[str], str]:
    if chain.is_svm:
        kp = keys.svm_hot if account is None else keys.svm_deposit(account)

        def svm(challenge: str) -> str:
            return str(kp.sign_message(challenge.encode()))

        return svm
    acct = keys.evm_hot if account is None else keys.evm_deposit(account)

    def evm(challenge: str) -> str:
        return "0x" + bytes(acct.sign_message(encode_defunct(text=challenge)).signature).hex()

    return evm


async def _height(chain: Chain, rpc: JsonRpc) -> int:
    if chain.is_svm:
        return int(await rpc.call("getSlot", {"commitment": "finalized"}))
    return int(await rpc.call("eth_blockNumber"), 16)


async def _balances(chain: Chain, rpc: JsonRpc, address: str, height: int) -> list[tuple[str, int, int, int]]:
    t = chain.token
    if chain.is_svm:
        native = int((await rpc.call("getBalance", address, {"commitment": "finalized"}))["value"])
        ata = str(associated_token_address(Pubkey.from_string(address), Pubkey.from_string(t.address)))
        try:
            token = int((await rpc.call("getTokenAccountBalance", ata))["value"]["amount"])
        except RpcError:  # no token account: nothing held
            token = 0
    else:
        block = hex(height)
        native = int(await rpc.call("eth_getBalance", address, block), 16)
        call = {"to": t.address, "data": "0x" + balance_of_data(address).hex()}
        token = int(await rpc.call("eth_call", call, block), 16)
    return [
        (chain.native_symbol, native, chain.native_decimals, chain.native_exchange_decimals),
        (t.symbol, token, t.decimals, t.exchange_decimals),
    ]
