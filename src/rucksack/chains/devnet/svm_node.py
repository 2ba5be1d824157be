"""A Solana/Eclipse JSON-RPC endpoint over an in-process LiteSVM (solders).

Served methods (the subset solana-py's client and wallets use): getBalance, getAccountInfo,
getMultipleAccounts, getTokenAccountBalance, getTokenAccountsByOwner, getTokenSupply,
getLatestBlockhash, isBlockhashValid, getFeeForMessage, sendTransaction, simulateTransaction,
getSignatureStatuses, getSignaturesForAddress, getTransaction (base64), requestAirdrop,
getMinimumBalanceForRentExemption, getSlot, getBlockHeight, getEpochInfo, getHealth, getVersion,
getGenesisHash, getIdentity.

Semantics and their honest limits:

- Responses are built from solders' own RPC response types (``to_json``), so they parse exactly as
  solana-py parses a real node's.
- Account data is served as ``base64`` only (what solana-py asks for); ``jsonParsed`` is refused
  with an invalid-params error rather than answered wrongly.
- Every committed transaction or airdrop advances the slot by one; everything is final at once
  (``confirmationStatus: finalized``). The blockhash does not rotate, so a byte-identical
  transaction is rejected as ``AlreadyProcessed`` -- as on a real cluster.
- ``sendTransaction`` runs a preflight simulation unless ``skipPreflight``; a failing preflight
  answers -32002 "Transaction simulation failed" with the simulation as ``data`` (real nodes do
  the same). With ``skipPreflight`` a failing transaction is recorded with its error and its
  signature returned.
- ``simulateTransaction`` honours the ``accounts`` config (``addresses``, base64): those accounts'
  state after the simulated transaction (fees included), as a real node returns it.
- ``getSignaturesForAddress`` lists committed transactions (newest first; ``limit``, ``before``,
  ``until``) whose message names the address; ``getTransaction`` answers ``base64`` only, with
  lamport pre/post balances and logs (token balances are not tracked: empty lists). Airdrops are
  not transactions and appear in neither.
- Only System, SPL Token, Associated Token Account and Memo programs exist (LiteSVM's defaults).
  LiteSVM has no wrapped-SOL native mint account, so genesis injects it (as on every real
  cluster: supply 0, 9 decimals, no authorities, owned by SPL Token) for wSOL token accounts.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from solders.account import Account
from solders.account_decoder import UiTokenAmount
from solders.hash import Hash
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.rpc.responses import (
    GetAccountInfoResp,
    GetLatestBlockhashResp,
    GetMultipleAccountsResp,
    GetSignaturesForAddressResp,
    GetSignatureStatusesResp,
    GetTokenAccountBalanceResp,
    GetTokenAccountsByOwnerResp,
    GetTransactionResp,
    RpcBlockhash,
    RpcConfirmedTransactionStatusWithSignature,
    RpcKeyedAccount,
    RpcResponseContext,
    RpcSimulateTransactionResult,
    SimulateTransactionResp,
)
from solders.signature import Signature
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import CreateAccountParams, create_account
from solders.token.state import Mint, TokenAccount
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata
from solders.transaction_status import (
    EncodedConfirmedTransactionWithStatusMeta,
    EncodedTransactionWithStatusMeta,
    TransactionConfirmationStatus,
    TransactionErrorType,
    TransactionStatus,
    UiTransactionStatusMeta,
)
from spl.token.constants import TOKEN_PROGRAM_ID, WRAPPED_SOL_MINT
from spl.token.instructions import create_idempotent_associated_token_account, get_associated_token_address, mint_to
from spl.token.instructions import initialize_mint as spl_initialize_mint
from spl.token.models import InitializeMintParams, MintToParams

from rucksack.chains.addresses import b58decode
from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.rpc import INVALID_PARAMS, Node, RpcError
from rucksack.chains.registry import Chain

SEND_FAILED = -32002  # Solana's "Transaction simulation failed" / preflight failure code
LAMPORTS_PER_SIGNATURE = 5000
VERSION = "2.2.0"  # the Solana RPC generation this subset follows
_MINT_LEN = 82


def _value(resp: Any) -> Any:
    """The ``result`` member of a solders response object, as plain JSON."""
    return json.loads(resp.to_json())["result"]


def _pubkey(text: Any) -> Pubkey:
    try:
        return Pubkey.from_string(str(text))
    except ValueError as exc:
        raise RpcError(INVALID_PARAMS, f"Invalid param: {exc}") from None


def _config(params: list[Any], index: int) -> dict[str, Any]:
    cfg = params[index] if len(params) > index and isinstance(params[index], dict) else {}
    return cfg


class SvmNode(Node):
    def __init__(self, chain: Chain) -> None:
        super().__init__()
        self.key = chain.key
        self.chain = chain
        self.svm = LiteSVM()
        self.slot = 1
        self.statuses: dict[str, tuple[int, TransactionErrorType | None]] = {}
        self._airdrops = 0
        # committed transactions: signature -> (slot, tx, err, fee, pre/post lamports, logs), and
        # address -> signatures naming it, oldest first (getSignaturesForAddress, getTransaction)
        self.txs: dict[str, tuple[int, VersionedTransaction, TransactionErrorType | None, Any]] = {}
        self.by_address: dict[str, list[str]] = {}
        self.genesis_hash = Hash(hashlib.sha256(f"rucksack-devnet:{chain.key}".encode()).digest())
        self.methods = {
            "getBalance": self.get_balance,
            "getAccountInfo": self.get_account_info,
            "getMultipleAccounts": self.get_multiple_accounts,
            "getTokenAccountBalance": self.get_token_account_balance,
            "getTokenAccountsByOwner": self.get_token_accounts_by_owner,
            "getTokenSupply": self.get_token_supply,
            "getLatestBlockhash": self.get_latest_blockhash,
            "isBlockhashValid": self.is_blockhash_valid,
            "getFeeForMessage": self.get_fee_for_message,
            "sendTransaction": self.send_transaction,
            "simulateTransaction": self.simulate_transaction,
            "getSignatureStatuses": self.get_signature_statuses,
            "getSignaturesForAddress": self.get_signatures_for_address,
            "getTransaction": self.get_transaction,
            "requestAirdrop": self.request_airdrop,
            "getMinimumBalanceForRentExemption": lambda p: self.svm.minimum_balance_for_rent_exemption(int(p[0])),
            "getSlot": lambda p: self.slot,
            "getBlockHeight": lambda p: self.slot,
            "getEpochInfo": self.get_epoch_info,
            "getHealth": lambda p: "ok",
            "getVersion": lambda p: {"solana-core": VERSION, "feature-set": 0},
            "getGenesisHash": lambda p: str(self.genesis_hash),
            "getIdentity": lambda p: {"identity": str(genesis.svm_faucet().pubkey())},
        }
        self._setup()

    # -- genesis -------------------------------------------------------------------------------

    def _setup(self) -> None:
        faucet, mint = genesis.svm_faucet(), genesis.svm_mint_keypair()
        self.svm.set_account(faucet.pubkey(), Account(genesis.SVM_FAUCET_LAMPORTS, b"", Pubkey.default(), False, 0))
        rent = self.svm.minimum_balance_for_rent_exemption(_MINT_LEN)
        native_mint = bytes(Mint(None, 0, 9, True, None))
        self.svm.set_account(WRAPPED_SOL_MINT, Account(rent, native_mint, TOKEN_PROGRAM_ID, False, 0))
        token = self.chain.token
        ata = get_associated_token_address(faucet.pubkey(), mint.pubkey())
        ixs = [
            create_account(
                CreateAccountParams(
                    from_pubkey=faucet.pubkey(),
                    to_pubkey=mint.pubkey(),
                    lamports=rent,
                    space=_MINT_LEN,
                    owner=TOKEN_PROGRAM_ID,
                )
            ),
            spl_initialize_mint(
                InitializeMintParams(
                    decimals=token.decimals,
                    program_id=TOKEN_PROGRAM_ID,
                    mint=mint.pubkey(),
                    mint_authority=faucet.pubkey(),
                    freeze_authority=None,
                )
            ),
            create_idempotent_associated_token_account(faucet.pubkey(), faucet.pubkey(), mint.pubkey()),
            mint_to(
                MintToParams(
                    program_id=TOKEN_PROGRAM_ID,
                    mint=mint.pubkey(),
                    dest=ata,
                    mint_authority=faucet.pubkey(),
                    amount=genesis.TOKEN_SUPPLY,
                )
            ),
        ]
        assert str(mint.pubkey()) == token.address, "registry and devnet genesis disagree on the mint"
        self._commit(Transaction([faucet, mint], Message(ixs, faucet.pubkey()), self.svm.latest_blockhash()))

    def _commit(self, tx: Transaction | VersionedTransaction) -> tuple[str, TransactionErrorType | None, Any]:
        keys = list(tx.message.account_keys)
        pre = [self._lamports(k) for k in keys]
        result = self.svm.send_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            err, meta = result.err(), result.meta()
        else:
            err, meta = None, result
            self.slot += 1
            self.svm.warp_to_slot(self.slot)
        sig = str(tx.signatures[0])
        self.statuses[sig] = (self.slot, err)
        vtx = tx if isinstance(tx, VersionedTransaction) else VersionedTransaction.from_legacy(tx)
        fee = LAMPORTS_PER_SIGNATURE * tx.message.header.num_required_signatures
        status = UiTransactionStatusMeta(
            err, fee, pre, [self._lamports(k) for k in keys], log_messages=list(meta.logs()),
            pre_token_balances=[], post_token_balances=[],
        )  # fmt: skip
        self.txs[sig] = (self.slot, vtx, err, status)
        for k in dict.fromkeys(str(k) for k in keys):
            self.by_address.setdefault(k, []).append(sig)
        return sig, err, meta

    def _lamports(self, key: Pubkey) -> int:
        acc = self.svm.get_account(key)
        return acc.lamports if acc is not None else 0

    def _ctx(self) -> RpcResponseContext:
        return RpcResponseContext(self.slot)

    # -- reads ---------------------------------------------------------------------------------

    def _account(self, key: Pubkey) -> Account | None:
        acc = self.svm.get_account(key)
        if acc is None or (acc.lamports == 0 and not acc.data):
            return None
        return acc

    @staticmethod
    def _check_encoding(cfg: dict[str, Any]) -> None:
        if cfg.get("encoding", "base64") != "base64":
            raise RpcError(INVALID_PARAMS, f"encoding {cfg['encoding']!r} is not served by the devnet (use base64)")

    def get_balance(self, p: list[Any]) -> Any:
        acc = self._account(_pubkey(p[0]))
        return {"context": {"slot": self.slot}, "value": acc.lamports if acc else 0}

    def get_account_info(self, p: list[Any]) -> Any:
        self._check_encoding(_config(p, 1))
        return _value(GetAccountInfoResp(self._account(_pubkey(p[0])), self._ctx()))

    def get_multiple_accounts(self, p: list[Any]) -> Any:
        self._check_encoding(_config(p, 1))
        return _value(GetMultipleAccountsResp([self._account(_pubkey(k)) for k in p[0]], self._ctx()))

    def _token_account(self, key: Pubkey) -> tuple[TokenAccount, Mint]:
        acc = self._account(key)
        if acc is None or acc.owner != TOKEN_PROGRAM_ID or len(acc.data) != 165:
            raise RpcError(INVALID_PARAMS, "Invalid param: not a Token account")
        state = TokenAccount.from_bytes(bytes(acc.data))
        mint_acc = self._account(state.mint)
        assert mint_acc is not None
        return state, Mint.from_bytes(bytes(mint_acc.data))

    @staticmethod
    def _ui(amount: int, decimals: int) -> UiTokenAmount:
        whole, frac = divmod(amount, 10**decimals)
        text = f"{whole}.{frac:0{decimals}d}".rstrip("0").rstrip(".") if decimals else str(whole)
        return UiTokenAmount(float(text), decimals, str(amount), text)

    def get_token_account_balance(self, p: list[Any]) -> Any:
        state, mint = self._token_account(_pubkey(p[0]))
        return _value(GetTokenAccountBalanceResp(self._ui(state.amount, mint.decimals), self._ctx()))

    def get_token_supply(self, p: list[Any]) -> Any:
        acc = self._account(_pubkey(p[0]))
        if acc is None or acc.owner != TOKEN_PROGRAM_ID or len(acc.data) != _MINT_LEN:
            raise RpcError(INVALID_PARAMS, "Invalid param: not a Token mint")
        mint = Mint.from_bytes(bytes(acc.data))
        return {"context": {"slot": self.slot}, "value": json.loads(self._ui(mint.supply, mint.decimals).to_json())}

    def get_token_accounts_by_owner(self, p: list[Any]) -> Any:
        owner = _pubkey(p[0])
        flt = p[1] if len(p) > 1 and isinstance(p[1], dict) else {}
        self._check_encoding(_config(p, 2))
        mint = _pubkey(flt["mint"]) if "mint" in flt else None
        if "programId" in flt and _pubkey(flt["programId"]) != TOKEN_PROGRAM_ID:
            raise RpcError(INVALID_PARAMS, "Invalid param: only the SPL Token program is served")
        if mint is None and "programId" not in flt:
            raise RpcError(INVALID_PARAMS, "Invalid param: give mint or programId")
        keyed = []
        for key, acc in self.svm.get_program_accounts(TOKEN_PROGRAM_ID):
            data = bytes(acc.data)
            if len(data) != 165 or data[32:64] != bytes(owner):
                continue
            if mint is not None and data[:32] != bytes(mint):
                continue
            keyed.append(RpcKeyedAccount(key, acc))
        keyed.sort(key=lambda k: str(k.pubkey))
        return _value(GetTokenAccountsByOwnerResp(keyed, self._ctx()))

    def get_latest_blockhash(self, p: list[Any]) -> Any:
        return _value(GetLatestBlockhashResp(RpcBlockhash(self.svm.latest_blockhash(), self.slot + 150), self._ctx()))

    def is_blockhash_valid(self, p: list[Any]) -> Any:
        return {"context": {"slot": self.slot}, "value": Hash.from_string(p[0]) == self.svm.latest_blockhash()}

    def get_fee_for_message(self, p: list[Any]) -> Any:
        msg = Message.from_bytes(base64.b64decode(p[0]))
        return {"context": {"slot": self.slot}, "value": LAMPORTS_PER_SIGNATURE * msg.header.num_required_signatures}

    def get_epoch_info(self, p: list[Any]) -> Any:
        return {
            "absoluteSlot": self.slot,
            "blockHeight": self.slot,
            "epoch": 0,
            "slotIndex": self.slot,
            "slotsInEpoch": 432000,
            "transactionCount": len(self.statuses),
        }

    # -- transactions --------------------------------------------------------------------------

    @staticmethod
    def _decode_tx(p: list[Any]) -> VersionedTransaction:
        enc = _config(p, 1).get("encoding", "base58")
        if enc == "base64":
            raw = base64.b64decode(p[0])
        elif enc == "base58":
            raw = b58decode(p[0])
        else:
            raise RpcError(INVALID_PARAMS, f"unsupported encoding {enc!r}")
        try:
            return VersionedTransaction.from_bytes(raw)
        except ValueError as exc:
            raise RpcError(INVALID_PARAMS, f"failed to deserialize transaction: {exc}") from None

    def _simulate(
        self, tx: VersionedTransaction, addresses: list[Pubkey] | None = None
    ) -> RpcSimulateTransactionResult:
        """``addresses``: the ``accounts`` config -- return those accounts' post-simulation state."""
        sim = self.svm.simulate_transaction(tx)
        if isinstance(sim, FailedTransactionMetadata):
            meta = sim.meta()
            return RpcSimulateTransactionResult(
                err=sim.err(), logs=meta.logs(), units_consumed=meta.compute_units_consumed()
            )
        meta = sim.meta()
        accounts = None
        if addresses is not None:
            post = dict(sim.post_accounts())
            accounts = []
            for key in addresses:
                acc = post.get(key, self.svm.get_account(key))
                accounts.append(None if acc is None or (acc.lamports == 0 and not acc.data) else acc)
        return RpcSimulateTransactionResult(
            err=None, logs=meta.logs(), accounts=accounts, units_consumed=meta.compute_units_consumed()
        )

    def send_transaction(self, p: list[Any]) -> Any:
        tx = self._decode_tx(p)
        if not _config(p, 1).get("skipPreflight", False):
            sim = self._simulate(tx)
            if sim.err is not None:
                resp = SimulateTransactionResp(sim, self._ctx())  # type: ignore[call-arg]  # stub omits context
                data = json.loads(resp.to_json())["result"]["value"]
                raise RpcError(SEND_FAILED, f"Transaction simulation failed: {sim.err}", data)
        sig, _err, _meta = self._commit(tx)
        return sig

    def simulate_transaction(self, p: list[Any]) -> Any:
        tx = self._decode_tx(p)
        wanted = _config(p, 1).get("accounts")
        addresses = None
        if isinstance(wanted, dict):
            self._check_encoding(wanted)
            addresses = [_pubkey(a) for a in wanted.get("addresses", [])]
        # solders' stub lists only ``value``; the runtime constructor is (value, context)
        return _value(SimulateTransactionResp(self._simulate(tx, addresses), self._ctx()))  # type: ignore[call-arg]

    def get_signature_statuses(self, p: list[Any]) -> Any:
        out: list[TransactionStatus | None] = []
        for s in p[0]:
            known = self.statuses.get(str(s))
            if known is None:
                out.append(None)
                continue
            slot, err = known
            out.append(TransactionStatus(slot, None, err, err, TransactionConfirmationStatus.Finalized))
        return _value(GetSignatureStatusesResp(out, self._ctx()))

    def get_signatures_for_address(self, p: list[Any]) -> Any:
        sigs = self.by_address.get(str(_pubkey(p[0])), [])
        cfg = _config(p, 1)
        limit = min(int(cfg.get("limit") or 1000), 1000)
        newest = list(reversed(sigs))
        if cfg.get("before") in self.txs:
            newest = newest[newest.index(cfg["before"]) + 1 :]
        if cfg.get("until") in self.txs and cfg["until"] in newest:
            newest = newest[: newest.index(cfg["until"])]
        out = []
        for s in newest[:limit]:
            slot, _tx, err, _meta = self.txs[s]
            out.append(
                RpcConfirmedTransactionStatusWithSignature(
                    Signature.from_string(s), slot, err, None, None, TransactionConfirmationStatus.Finalized
                )
            )
        return _value(GetSignaturesForAddressResp(out))

    def get_transaction(self, p: list[Any]) -> Any:
        enc = _config(p, 1).get("encoding", "json")
        if enc != "base64":
            raise RpcError(INVALID_PARAMS, f"encoding {enc!r} is not served by the devnet (use base64)")
        known = self.txs.get(str(p[0]))
        if known is None:
            return None
        slot, tx, _err, meta = known
        return _value(
            GetTransactionResp(
                EncodedConfirmedTransactionWithStatusMeta(slot, EncodedTransactionWithStatusMeta(tx, meta, None))
            )
        )

    def request_airdrop(self, p: list[Any]) -> Any:
        """Credit lamports out of thin air (as a test validator's faucet does) and finalize at once.

        Not a transaction: a byte-identical faucet transfer would be ``AlreadyProcessed`` the second
        time, so the signature returned is a unique synthetic one that getSignatureStatuses knows.
        """
        to, lamports = _pubkey(p[0]), int(p[1])
        if lamports <= 0:
            raise RpcError(INVALID_PARAMS, "Invalid param: lamports must be positive")
        acc = self.svm.get_account(to)
        if acc is None or (acc.lamports == 0 and not acc.data):
            acc = Account(0, b"", SYSTEM_PROGRAM_ID, False, 0)
        self.svm.set_account(to, Account(acc.lamports + lamports, bytes(acc.data), acc.owner, acc.executable, 0))
        self._airdrops += 1
        self.slot += 1
        self.svm.warp_to_slot(self.slot)
        digest = hashlib.sha512(f"rucksack-devnet:{self.key}:airdrop:{self._airdrops}".encode()).digest()
        sig = str(Signature(digest))
        self.statuses[sig] = (self.slot, None)
        return sig
