"""An Ethereum-style JSON-RPC endpoint for one EVM chain, over in-process eth-tester/py-evm.

Served methods: web3_clientVersion, net_version, net_listening, eth_chainId, eth_syncing,
eth_accounts, eth_blockNumber, eth_gasPrice, eth_maxPriorityFeePerGas, eth_feeHistory,
eth_getBalance, eth_getTransactionCount, eth_getCode, eth_getStorageAt, eth_getBlockByNumber,
eth_getBlockByHash, eth_sendRawTransaction, eth_getTransactionByHash, eth_getTransactionReceipt,
eth_call, eth_estimateGas, eth_getLogs -- what web3.py needs to build, sign locally, send and
confirm native and ERC-20 transfers.

Invariants:

- The chain id is the registry's (``eth_chainId``, and py-evm's ``CHAINID`` opcode, which is set on
  the chain instance). eth-tester accepts raw transactions signed for any chain id
  (../shared/spec/wallet.md §2.3), so ``eth_sendRawTransaction`` decodes every transaction first
  and rejects a chain-id mismatch, and pre-EIP-155 (unprotected) legacy transactions, as geth
  does. Nothing reaches the VM without passing that check.
- Auto-mine: every accepted transaction is mined into its own block at once, so a receipt exists
  as soon as ``eth_sendRawTransaction`` returns (no pending pool; a nonce gap is an error).
- Quantities go out as 0x-hex, keys in camelCase; eth-tester's snake_case values are translated
  here and nowhere else.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.types import TransactionDictType
from eth_tester import EthereumTester, PyEVMBackend
from eth_tester.exceptions import TransactionFailed, ValidationError
from eth_utils.address import to_checksum_address

from rucksack.chains.devnet import genesis
from rucksack.chains.devnet.rpc import INVALID_PARAMS, SERVER_ERROR, Node, RpcError
from rucksack.chains.evm import erc20, erc721
from rucksack.chains.evm.transfers import raw_chain_id
from rucksack.chains.registry import DEVNET_EVM_LADS, Chain

EXECUTION_REVERTED = 3  # geth's code for a reverted eth_call / eth_estimateGas
PRIORITY_FEE = 10**9  # 1 gwei suggested tip
CLIENT_VERSION = "rucksack-devnet/py-evm"
_RENAME = {"data": "input"}  # transaction objects call their payload "input" on the wire


def _q(value: int) -> str:
    return hex(value)


def _wire(obj: Any, *, tx: bool = False) -> Any:
    """eth-tester's normalized values -> JSON-RPC wire values (camelCase keys, hex quantities)."""
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        fields: dict[str, Any] = obj  # eth-tester's normalized objects are keyed by snake_case names
        for k, v in fields.items():
            if k == "state_root" and isinstance(v, bytes):
                continue  # receipts post-Byzantium carry status, not a state root
            if k == "logs_bloom" and isinstance(v, int):
                out["logsBloom"] = "0x" + v.to_bytes(256, "big").hex()
                continue
            if k == "transactions":
                out[k] = [_wire(t, tx=True) for t in v]
                continue
            if k == "logs":
                out[k] = [_wire(entry) for entry in v]
                continue
            name = _RENAME.get(k, k) if tx else k
            parts = name.split("_")
            out[parts[0] + "".join(p.title() for p in parts[1:])] = _wire(v)
        if tx and "yParity" in out:
            out.setdefault("v", out["yParity"])
        return out
    if isinstance(obj, bool):
        return obj
    if isinstance(obj, int):
        return _q(obj)
    if isinstance(obj, bytes):
        return "0x" + obj.hex()
    if isinstance(obj, list | tuple):
        return [_wire(v) for v in obj]
    return obj


def _int(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(str(value), 16)


def _block(tag: Any) -> Any:
    if tag is None or tag in ("latest", "safe", "finalized", "pending", "earliest"):
        return "latest" if tag in (None, "safe", "finalized") else tag
    return _int(tag)


_CALL_FIELDS = {
    "from": "from",
    "to": "to",
    "gas": "gas",
    "gasPrice": "gas_price",
    "maxFeePerGas": "max_fee_per_gas",
    "maxPriorityFeePerGas": "max_priority_fee_per_gas",
    "value": "value",
    "data": "data",
    "input": "data",
    "nonce": "nonce",
}


def _call_tx(obj: dict[str, Any], base_fee: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        name = _CALL_FIELDS.get(k)
        if name is None or v is None:
            continue
        if name in ("from", "to"):
            out[name] = to_checksum_address(v)
        elif name == "data":
            out[name] = v
        else:
            out[name] = _int(v)
    out.setdefault("from", "0x" + "00" * 20)  # eth_call may omit the sender
    if not {"gas_price", "max_fee_per_gas"} & out.keys():
        # py-evm validates the fee against the base fee even for calls; geth would charge nothing.
        # The zero address is funded at genesis so keyless calls can always afford it.
        out["gas_price"] = base_fee
    return out


class EvmNode(Node):
    def __init__(self, chain: Chain) -> None:
        super().__init__()
        if chain.chain_id is None:
            raise ValueError(f"{chain.key} is not an EVM chain")
        self.key = chain.key
        self.chain = chain
        self.chain_id = chain.chain_id
        state = {
            bytes.fromhex(genesis.evm_account(i).address[2:]): {
                "balance": genesis.EVM_ACCOUNT_WEI,
                "storage": {},
                "code": b"",
                "nonce": 0,
            }
            for i in range(genesis.EVM_ACCOUNTS)
        }
        state[bytes(20)] = {"balance": genesis.EVM_ACCOUNT_WEI, "storage": {}, "code": b"", "nonce": 0}
        backend = PyEVMBackend(genesis_state=state)
        backend.chain.chain_id = self.chain_id  # CHAINID and signature checks use the chain's id
        self.tester = EthereumTester(backend)
        m = self.methods
        m["web3_clientVersion"] = lambda p: CLIENT_VERSION
        m["net_version"] = lambda p: str(self.chain_id)
        m["net_listening"] = lambda p: True
        m["eth_chainId"] = lambda p: _q(self.chain_id)
        m["eth_syncing"] = lambda p: False
        m["eth_accounts"] = lambda p: []  # no node-held keys: sign locally, send raw
        m["eth_blockNumber"] = lambda p: _q(self.tester.get_block_by_number("latest")["number"])
        m["eth_gasPrice"] = lambda p: _q(self._base_fee() + PRIORITY_FEE)
        m["eth_maxPriorityFeePerGas"] = lambda p: _q(PRIORITY_FEE)
        m["eth_feeHistory"] = self.fee_history
        m["eth_getBalance"] = lambda p: _q(self.tester.get_balance(to_checksum_address(p[0]), _block(p[1:] and p[1])))
        m["eth_getTransactionCount"] = self.get_transaction_count
        m["eth_getCode"] = lambda p: self.tester.get_code(to_checksum_address(p[0]), _block(p[1:] and p[1]))
        m["eth_getStorageAt"] = self.get_storage_at
        m["eth_getBlockByNumber"] = lambda p: _wire(self.tester.get_block_by_number(_block(p[0]), bool(p[1])))
        m["eth_getBlockByHash"] = self.get_block_by_hash
        m["eth_sendRawTransaction"] = self.send_raw_transaction
        m["eth_getTransactionByHash"] = self.get_transaction_by_hash
        m["eth_getTransactionReceipt"] = self.get_transaction_receipt
        m["eth_call"] = self.call
        m["eth_estimateGas"] = self.estimate_gas
        m["eth_getLogs"] = self.get_logs
        self._deploy_token()
        self._deploy_collection()

    # -- genesis -------------------------------------------------------------------------------

    def _deploy_token(self) -> None:
        faucet = genesis.evm_faucet()
        tx: TransactionDictType = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": 0,
            "data": erc20.deploy_data(genesis.TOKEN_SUPPLY),
            "gas": 3_000_000,
            "maxFeePerGas": 2 * self._base_fee() + PRIORITY_FEE,
            "maxPriorityFeePerGas": PRIORITY_FEE,
            "value": 0,
        }
        tx_hash = self.send_raw_transaction(["0x" + bytes(faucet.sign_transaction(tx).raw_transaction).hex()])
        receipt = self.tester.get_transaction_receipt(tx_hash)
        if receipt["status"] != 1 or receipt["contract_address"] != self.chain.token.address:
            raise RuntimeError(f"{self.key}: token deploy went wrong: {receipt}")

    def _deploy_collection(self) -> None:
        """The sandbox's NFT collection (tokens 1..10 held by account 0; the NFT VIP perk)."""
        faucet = genesis.evm_faucet()
        tx: TransactionDictType = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": 1,
            "data": erc721.deploy_data(),
            "gas": 3_000_000,
            "maxFeePerGas": 2 * self._base_fee() + PRIORITY_FEE,
            "maxPriorityFeePerGas": PRIORITY_FEE,
            "value": 0,
        }
        tx_hash = self.send_raw_transaction(["0x" + bytes(faucet.sign_transaction(tx).raw_transaction).hex()])
        receipt = self.tester.get_transaction_receipt(tx_hash)
        if receipt["status"] != 1 or receipt["contract_address"] != DEVNET_EVM_LADS:
            raise RuntimeError(f"{self.key}: NFT collection deploy went wrong: {receipt}")

    def _call_fee(self) -> int:
        """A price that passes py-evm's base-fee check whichever block a call runs on."""
        return max(self._base_fee(), int(self.tester.get_block_by_number("latest")["base_fee_per_gas"]))

    def _base_fee(self) -> int:
        return int(self.tester.get_block_by_number("pending")["base_fee_per_gas"])

    # -- methods -------------------------------------------------------------------------------

    def fee_history(self, p: list[Any]) -> Any:
        count = _int(p[0])
        newest = _block(p[1])
        percentiles = p[2] if len(p) > 2 and p[2] else []
        head = self.tester.get_block_by_number("latest")["number"] if newest in ("latest", "pending") else newest
        count = max(1, min(count, head + 1))
        oldest = head - count + 1
        blocks = [self.tester.get_block_by_number(n) for n in range(oldest, head + 1)]
        return {
            "oldestBlock": _q(oldest),
            "baseFeePerGas": [_q(b["base_fee_per_gas"]) for b in blocks] + [_q(self._base_fee())],
            "gasUsedRatio": [b["gas_used"] / b["gas_limit"] for b in blocks],
            "reward": [[_q(PRIORITY_FEE) for _ in percentiles] for _ in blocks] if percentiles else [],
        }

    def get_transaction_count(self, p: list[Any]) -> Any:
        return _q(self.tester.get_nonce(to_checksum_address(p[0]), _block(p[1] if len(p) > 1 else "latest")))

    def get_storage_at(self, p: list[Any]) -> Any:
        slot = hex(_int(p[1]))  # eth-tester wants the slot as a 0x-hex string, not an int
        value = self.tester.get_storage_at(to_checksum_address(p[0]), slot, _block(p[2] if len(p) > 2 else None))
        return _wire(value) if isinstance(value, bytes | int) else value

    def get_block_by_hash(self, p: list[Any]) -> Any:
        try:
            return _wire(self.tester.get_block_by_hash(p[0], bool(p[1])))
        except Exception:  # eth-tester raises BlockNotFound
            return None

    def send_raw_transaction(self, p: list[Any]) -> Any:
        raw_hex = str(p[0])
        raw = bytes.fromhex(raw_hex.removeprefix("0x"))
        try:
            chain_id = raw_chain_id(raw)
            Account.recover_transaction(raw)
        except Exception as exc:
            raise RpcError(INVALID_PARAMS, f"invalid raw transaction: {exc}") from None
        if chain_id is None:
            raise RpcError(SERVER_ERROR, "only replay-protected (EIP-155) transactions allowed over RPC")
        if chain_id != self.chain_id:
            raise RpcError(SERVER_ERROR, f"invalid chain id for signer: have {chain_id} want {self.chain_id}")
        try:
            return self.tester.send_raw_transaction("0x" + raw.hex())
        except (ValidationError, TransactionFailed) as exc:
            raise RpcError(SERVER_ERROR, str(exc)) from None

    def get_transaction_by_hash(self, p: list[Any]) -> Any:
        try:
            return _wire(self.tester.get_transaction_by_hash(p[0]), tx=True)
        except Exception:  # TransactionNotFound
            return None

    def get_transaction_receipt(self, p: list[Any]) -> Any:
        try:
            receipt = self.tester.get_transaction_receipt(p[0])
        except Exception:  # TransactionNotFound
            return None
        if receipt is None or receipt.get("block_number") is None:
            return None
        return _wire(receipt)

    def call(self, p: list[Any]) -> Any:
        try:
            return self.tester.call(_call_tx(p[0], self._call_fee()), _block(p[1] if len(p) > 1 else None))
        except TransactionFailed as exc:
            raise _reverted(exc) from None
        except ValidationError as exc:
            raise RpcError(SERVER_ERROR, str(exc)) from None

    def estimate_gas(self, p: list[Any]) -> Any:
        try:
            return _q(self.tester.estimate_gas(_call_tx(p[0], self._call_fee()), _block(p[1] if len(p) > 1 else None)))
        except TransactionFailed as exc:
            raise _reverted(exc) from None
        except ValidationError as exc:
            raise RpcError(SERVER_ERROR, str(exc)) from None

    def get_logs(self, p: list[Any]) -> Any:
        flt = p[0] if p else {}
        if "blockHash" in flt:
            n = self.tester.get_block_by_hash(flt["blockHash"])["number"]
            lo = hi = n
        else:
            head = self.tester.get_block_by_number("latest")["number"]
            lo = _resolve(flt.get("fromBlock"), head)
            hi = _resolve(flt.get("toBlock"), head)
        address = flt.get("address")
        if isinstance(address, list):
            address = [to_checksum_address(a) for a in address]
        elif address is not None:
            address = to_checksum_address(address)
        logs = self.tester.get_logs(from_block=lo, to_block=hi, address=address, topics=flt.get("topics"))
        return [{**_wire(entry), "removed": False} for entry in logs]


def _resolve(tag: Any, head: int) -> int:
    if tag in (None, "latest", "safe", "finalized", "pending"):
        return head
    if tag == "earliest":
        return 0
    return _int(tag)


def _reverted(exc: TransactionFailed) -> RpcError:
    reason = exc.args[0] if exc.args else ""
    if isinstance(reason, Exception):
        reason = reason.args[0] if reason.args else ""
    if isinstance(reason, bytes):
        data = "0x" + reason.hex()
        text = ""
        if reason[:4] == bytes.fromhex("08c379a0"):
            from eth_abi.abi import decode

            text = str(decode(["string"], reason[4:])[0])
        return RpcError(EXECUTION_REVERTED, f"execution reverted: {text}".rstrip(": "), data)
    return RpcError(EXECUTION_REVERTED, f"execution reverted: {reason}".rstrip(": "))
