"""Recovery scan: which derivation paths of an imported mnemonic hold funds or have history.

Backpack checks a fixed set of paths, 20 indices each, when a mnemonic is imported
(../shared/spec/wallet.md §1.2). We do the same over every scheme in ``keys.SCHEMES`` (the
root paths ``bip44-root`` once), on the chains asked for, and report an account when:

- SVM: the address holds lamports, or its associated token account for the chain's token holds
  any (one ``getMultipleAccounts`` per 100 addresses);
- EVM: the address holds the native coin, has sent a transaction (nonce > 0), or holds the chain's
  token (one batched JSON-RPC request per chain).

Addresses that two schemes share are reported once, under the first scheme (``keys`` order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from solders.pubkey import Pubkey

from rucksack.chains.evm import erc20
from rucksack.chains.registry import get_chain
from rucksack.chains.svm.transfers import associated_token_address
from rucksack.wallet import svm
from rucksack.wallet.keys import EVM, SCHEMES, SVM, AccountRef, Secret, account_ref
from rucksack.wallet.rpc import Endpoints

LOAD_PUBLIC_KEY_AMOUNT = 20  # Backpack's count per path


@dataclass
class Found:
    ref: AccountRef
    evidence: dict[str, dict[str, int]] = field(default_factory=dict)  # chain -> {"native": n, "token": n, "nonce": n}


def candidates(secret: Secret, family: str, count: int = LOAD_PUBLIC_KEY_AMOUNT) -> list[AccountRef]:
    seen: set[str] = set()
    out: list[AccountRef] = []
    for scheme, template in SCHEMES[family].items():
        for i in range(count if "{i}" in template else 1):
            ref = account_ref(secret, family, scheme, i)
            if ref.address not in seen:
                seen.add(ref.address)
                out.append(ref)
    return out


def scan(secret: Secret, endpoints: Endpoints, chains: list[str], count: int = LOAD_PUBLIC_KEY_AMOUNT) -> list[Found]:
    found: dict[str, Found] = {}
    families = {get_chain(c).family.value for c in chains}
    refs = {f: candidates(secret, f, count) for f in (SVM, EVM) if f in families}
    for key in chains:
        chain = get_chain(key)
        rpc = endpoints.rpc(key)
        if chain.is_svm:
            mint = Pubkey.from_string(chain.token.address)
            addrs = [r.address for r in refs[SVM]]
            atas = [str(associated_token_address(Pubkey.from_string(a), mint)) for a in addrs]
            natives = svm.get_accounts(rpc, addrs)
            tokens = svm.get_accounts(rpc, atas)
            for ref, nat, tok in zip(refs[SVM], natives, tokens, strict=True):
                state = svm._token_state(tok)
                ev = {"native": nat[0] if nat else 0, "token": state.amount if state else 0}
                if any(ev.values()):
                    found.setdefault(ref.address, Found(ref)).evidence[key] = ev
        else:
            calls: list[tuple[str, list[Any]]] = []
            for r in refs[EVM]:
                calls += [
                    ("eth_getBalance", [r.address, "latest"]),
                    ("eth_getTransactionCount", [r.address, "latest"]),
                    ("eth_call", [{"to": chain.token.address, "data": "0x" + erc20.balance_of_data(r.address).hex()}]),
                ]
            results = []
            for start in range(0, len(calls), 300):
                results += rpc.batch(calls[start : start + 300])
            for n, ref in enumerate(refs[EVM]):
                bal, nonce, tok = results[3 * n : 3 * n + 3]
                ev = {"native": int(bal, 16), "nonce": int(nonce, 16), "token": int(tok, 16) if tok != "0x" else 0}
                if any(ev.values()):
                    found.setdefault(ref.address, Found(ref)).evidence[key] = ev
    order = {r.address: i for f in (SVM, EVM) for i, r in enumerate(refs.get(f, []))}
    return sorted(found.values(), key=lambda f: (f.ref.family != SVM, order[f.ref.address]))
