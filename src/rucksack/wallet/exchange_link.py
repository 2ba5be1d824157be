"""The wallet's link to a Rucksack (Backpack-API) exchange, over HTTP only, like any client.

- **Exchange API key**: an ED25519 key the exchange knows by its public half. By default it is
  *derived* from the wallet's secret, so the same mnemonic always gives the same exchange key:

      ed25519 seed = HMAC-SHA512(key = b"rucksack/exchange-api-key/v1", msg = BIP-39 seed)[:32]

  (for a private-key keystore the message is ``b"<family>:" + raw private key``). The HMAC key is
  the domain separation: no BIP-32/SLIP-10 path is used, so the exchange key can never equal an
  on-chain account key (``m/44'/501'/...``), and knowing it reveals nothing about the seed.
  An *imported* key (``exchange-key --import-file F``) replaces the derived one: it is stored
  beside the keystore in ``<keystore>.exchange-key`` (0600), sealed with XChaCha20-Poly1305 under
  the keystore's own Argon2id key (fresh nonce; associated data binds it to the keystore's salt).
- **Signing** (Backpack's rules): ``instruction=<name>&<params sorted by key>&timestamp=<ms>&window=<ms>``
  signed with the ED25519 key, sent as X-API-Key / X-Signature / X-Timestamp / X-Window.
- The wallet imports nothing from ``rucksack.exchange``; ``rucksack.reserves.verify`` is the
  standalone verifier the exchange's users are given.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import nacl.bindings
import nacl.exceptions
import nacl.signing
import nacl.utils

from rucksack.wallet.keys import Secret
from rucksack.wallet.keystore import Wallet, atomic_write

DOMAIN = b"rucksack/exchange-api-key/v1"
SEALED_FORMAT = "rucksack-exchange-key"
DEFAULT_WINDOW = 5000


class ExchangeError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"exchange HTTP {status}: {message}")
        self.status = status


# -- the key ---------------------------------------------------------------------------------------


def derive_exchange_seed(secret: Secret) -> bytes:
    """32-byte ED25519 seed, deterministic in the wallet's secret (see the module docstring)."""
    material = secret.seed() if secret.kind == "mnemonic" else secret.family.encode() + b":" + secret.key
    return hmac.new(DOMAIN, material, hashlib.sha512).digest()[:32]


def sealed_path(wallet: Wallet) -> Path:
    return wallet.path.with_name(wallet.path.name + ".exchange-key")


def _aad(wallet: Wallet) -> bytes:
    return f"{SEALED_FORMAT}/v1/{wallet.doc['kdf']['salt']}".encode()


def import_key(wallet: Wallet, text: str) -> nacl.signing.SigningKey:
    """Store an existing ED25519 exchange secret (base64 of 32-byte seed or 64-byte secret key)."""
    raw = base64.b64decode(text.strip(), validate=True)
    if len(raw) not in (32, 64):
        raise ValueError("an exchange API secret is a base64 32-byte ED25519 seed (or 64-byte secret key)")
    key = nacl.signing.SigningKey(raw[:32])
    if len(raw) == 64 and bytes(key.verify_key) != raw[32:]:
        raise ValueError("the 64-byte secret key's public half does not match its seed")
    wallet.secret()  # must be unlocked (refreshes the idle timer)
    assert wallet._key is not None
    nonce = nacl.utils.random(24)
    ct = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(raw[:32], _aad(wallet), nonce, wallet._key)
    doc = {
        "format": SEALED_FORMAT,
        "version": 1,
        "publicKey": base64.b64encode(bytes(key.verify_key)).decode(),
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(ct).decode(),
    }
    atomic_write(sealed_path(wallet), (json.dumps(doc, indent=1) + "\n").encode())
    return key


def signing_key(wallet: Wallet) -> tuple[nacl.signing.SigningKey, str]:
    """The exchange key (imported if one is stored, else derived) and where it came from."""
    secret = wallet.secret()
    path = sealed_path(wallet)
    if path.is_file():
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != SEALED_FORMAT or doc.get("version") != 1:
            raise ValueError(f"{path}: not a rucksack exchange-key file")
        assert wallet._key is not None
        try:
            seed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                base64.b64decode(doc["ciphertext"]), _aad(wallet), base64.b64decode(doc["nonce"]), wallet._key
            )
        except nacl.exceptions.CryptoError:
            raise ValueError(f"{path}: cannot be opened with this keystore (altered, or another wallet's)") from None
        return nacl.signing.SigningKey(seed), "imported"
    return nacl.signing.SigningKey(derive_exchange_seed(secret)), "derived"


def public_key(key: nacl.signing.SigningKey) -> str:
    return base64.b64encode(bytes(key.verify_key)).decode()


# -- HTTP ------------------------------------------------------------------------------------------


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def signing_message(instruction: str, params: dict[str, Any], ts: int, window: int) -> str:
    body = "&".join(f"{k}={_render(v)}" for k, v in sorted(params.items()) if v is not None)
    return f"instruction={instruction}" + (f"&{body}" if body else "") + f"&timestamp={ts}&window={window}"


class ExchangeClient:
    def __init__(self, url: str, key: nacl.signing.SigningKey | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self.timeout = timeout

    def _headers(self, instruction: str | None, params: dict[str, Any]) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if instruction is not None:
            if self.key is None:
                raise ValueError("this request needs the exchange API key")
            ts, window = int(time.time() * 1000), DEFAULT_WINDOW
            sig = self.key.sign(signing_message(instruction, params, ts, window).encode()).signature
            headers.update(
                {
                    "X-API-Key": public_key(self.key),
                    "X-Signature": base64.b64encode(sig).decode(),
                    "X-Timestamp": str(ts),
                    "X-Window": str(window),
                }
            )
        return headers

    def request(
        self, method: str, path: str, instruction: str | None = None, params: dict[str, Any] | None = None
    ) -> Any:
        params = {k: v for k, v in (params or {}).items() if v is not None}
        headers = self._headers(instruction, params)
        url, data = self.url + path, None
        if method == "GET":
            if params:
                url += "?" + urllib.parse.urlencode({k: _render(v) for k, v in params.items()})
        else:
            data = json.dumps(params).encode()
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as err:
            text = err.read().decode(errors="replace")
            with contextlib.suppress(ValueError, AttributeError):
                text = json.loads(text).get("message", text)
            raise ExchangeError(err.code, text) from None
        except (urllib.error.URLError, OSError) as err:
            raise ExchangeError(0, f"cannot reach {self.url}: {getattr(err, 'reason', err)}") from None
        return json.loads(raw) if raw else None

    # -- Backpack endpoints the wallet uses ----------------------------------------------------

    def sandbox_signup(self, label: str = "wallet") -> Any:
        assert self.key is not None
        return self.request("POST", "/api/v1/sandbox/signup", None, {"publicKey": public_key(self.key), "label": label})

    def deposit_address(self, blockchain: str) -> str:
        got = self.request("GET", "/wapi/v1/capital/deposit/address", "depositAddressQuery", {"blockchain": blockchain})
        return str(got["address"])

    def balances(self) -> dict[str, Any]:
        return dict(self.request("GET", "/api/v1/capital", "balanceQuery"))

    def place_order(self, order: dict[str, Any]) -> Any:
        """``POST /api/v1/order`` (signed ``orderExecute``): Backpack's order body as given."""
        return self.request("POST", "/api/v1/order", "orderExecute", order)

    def open_orders(self, symbol: str | None = None) -> list[Any]:
        return list(self.request("GET", "/api/v1/orders", "orderQueryAll", {"symbol": symbol}))

    def nft_vip_challenge(self, address: str) -> Any:
        """``GET /api/v1/account/nftVip/challenge`` (Rucksack extension): the text to sign."""
        return self.request("GET", "/api/v1/account/nftVip/challenge", "nftVipChallenge", {"address": address})

    def nft_vip_prove(self, address: str, token_id: int, message: str, signature: str) -> Any:
        """``POST /api/v1/account/nftVip``: the challenge signed by the holding address."""
        body = {"address": address, "tokenId": token_id, "message": message, "signature": signature}
        return self.request("POST", "/api/v1/account/nftVip", "nftVipProve", body)

    def withdraw(self, address: str, blockchain: str, quantity: str, symbol: str) -> Any:
        body = {"address": address, "blockchain": blockchain, "quantity": quantity, "symbol": symbol}
        return self.request("POST", "/wapi/v1/capital/withdrawals", "withdraw", body)

    def withdrawals(self) -> list[Any]:
        return list(self.request("GET", "/wapi/v1/capital/withdrawals", "withdrawalQueryAll"))

    def reserves_snapshot(self) -> Any:
        return self.request("GET", "/api/v1/reserves/snapshot")

    def reserves_proof(self) -> Any:
        return self.request("GET", "/api/v1/reserves/proof", "reservesProofQuery")

    def chain(self) -> list[Any]:
        """Every record of the exchange's chain of commitments, oldest first."""
        records: list[Any] = []
        while True:
            start = records[-1]["seq"] + 1 if records else 0
            page = self.request("GET", "/api/v1/chain", params={"from": start, "limit": 1000})["records"]
            records += page
            if len(page) < 1000:
                return records

    def chain_proofs(self) -> tuple[int, list[Any]]:
        """This account's id and the inclusion proofs of its own orders and fills, every checkpoint."""
        proofs: dict[tuple[int, int], Any] = {}
        start = 0
        while True:
            page = self.request("GET", "/api/v1/chain/proofs", "chainProofQuery", {"from": start, "limit": 1000})
            fresh = [p for p in page["proofs"] if (p["checkpoint"], p["index"]) not in proofs]
            proofs.update({(p["checkpoint"], p["index"]): p for p in page["proofs"]})
            if len(page["proofs"]) < 1000 or not fresh:
                return int(page["account"]), list(proofs.values())
            start = page["proofs"][-1]["checkpoint"]

    def fills(self) -> list[Any]:
        """Every fill of this account (Backpack's fill history, oldest first)."""
        out: list[Any] = []
        while True:
            page = self.request(
                "GET",
                "/wapi/v1/history/fills",
                "fillHistoryQueryAll",
                {"limit": 1000, "offset": len(out), "sortDirection": "Asc"},
            )
            out += page
            if len(page) < 1000:
                return out


def verify_fills(
    client: ExchangeClient, expected_key: str | None = None, kept: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Check the exchange's signed chain of commitments, then this account's own orders and fills
    against it (``rucksack.reserves.chain.check_fills``): the fills the exchange serves now, plus
    ``kept`` (fills saved earlier: a fill the exchange dropped from both is caught by those)."""
    from rucksack.reserves.chain import check_chain, check_fills

    records = client.chain()
    chain_problems = check_chain(records, expected_key)
    account, proofs = client.chain_proofs()
    served = client.fills()
    fills = list(served)
    seen = {(f.get("tradeId"), f.get("side")) for f in served}
    fills += [f for f in kept or [] if (f.get("tradeId"), f.get("side")) not in seen]
    report = check_fills(records, proofs, fills, account)
    report["records"] = len(records)
    report["chainProblems"] = chain_problems
    report["publicKey"] = records[0]["public_key"] if records else None
    report["keyPinned"] = expected_key is not None
    report["ok"] = report["ok"] and not chain_problems and bool(records)
    return report


def verify_reserves(client: ExchangeClient, expected_key: str | None = None) -> dict[str, Any]:
    """Fetch the public snapshot and this account's own proof; verify both with the standalone
    verifier (signature, inclusion, solvency). When the snapshot has a zero-knowledge tier
    (``zk``) and the account its zk inclusion proof, also verify those: the account's leaf reaches
    its batch's root, and that batch's Groth16 proof (the circuit's check that every account of
    the batch is covered and the sums are right) verifies, with the chain and the opened totals.
    ``expected_key``: the exchange's snapshot key (hex), obtained independently; without it the
    key is reported as not pinned (a warning)."""
    from rucksack.reserves.verify import format_text
    from rucksack.reserves.zk.verify import verify

    snap = client.reserves_snapshot()
    mine = client.reserves_proof()
    if mine.get("included") is False:  # opened after the snapshot: when it will be in one
        pending = {"included": False, "pending": True, "nextSnapshotAt": mine.get("nextSnapshotAt")}
        return {
            "ok": True,
            "seq": snap["seq"],
            "text": mine["message"],
            "report": {**pending, "message": mine["message"]},
        }
    if mine["seq"] != snap["seq"]:
        raise ExchangeError(409, f"proof is for snapshot {mine['seq']}, newest is {snap['seq']}; retry")
    zk, zk_proof = snap.get("zk"), mine.get("zkProof")
    with_zk = zk is not None and zk_proof is not None
    report = verify(
        snap["snapshot"],
        mine["proof"],
        snap.get("reserves"),
        account=mine["account"],
        public_key=expected_key,
        zk=zk if with_zk else None,
        zk_proof=zk_proof if with_zk else None,
    )
    # "included": the signed snapshot commits to exactly this account's balances (snapshot.* and
    # proof.* checks); "solvent": the exchange's reserves statement covers its liabilities (reserves.*);
    # "zk_verified": the account's zk leaf is in a batch whose Groth16 proof verified (None: no zk tier).
    mine_ok = [c.status != "fail" for c in report.checks if c.name.startswith(("snapshot.", "proof."))]
    backing = [c.status != "fail" for c in report.checks if c.name.startswith("reserves.")]
    zk_checks = [c for c in report.checks if c.name.startswith("zk.")]
    out = report.to_dict()
    out["included"] = bool(mine_ok) and all(mine_ok) and any(c.name == "proof.root" for c in report.checks)
    out["solvent"] = (all(backing) if backing else None) if snap.get("reserves") is not None else None
    own = out.get("zk") or {}
    out["zk_verified"] = (
        all(c.status != "fail" for c in zk_checks)
        and any(c.name == "zk.inclusion" and c.status == "ok" for c in zk_checks)
        and bool(own.get("verified_batches"))
        if with_zk
        else None
    )
    return {"ok": report.ok, "seq": snap["seq"], "text": format_text(report), "report": out}
