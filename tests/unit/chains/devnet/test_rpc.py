"""The devnet's JSON-RPC layer without HTTP: error shapes, refusals, chain-id enforcement."""

from __future__ import annotations

from typing import Any

import pytest
from eth_account import Account

from rucksack.chains.devnet.rpc import METHOD_NOT_FOUND, Node
from rucksack.chains.devnet.server import Devnet, ensure_loopback


def call(node: Node, method: str, *params: Any) -> dict[str, Any]:
    reply = node.handle({"jsonrpc": "2.0", "id": 7, "method": method, "params": list(params)})
    assert reply is not None and reply["id"] == 7
    return reply


def test_unknown_method_and_bad_requests() -> None:
    node = Node()
    assert call(node, "nope")["error"]["code"] == METHOD_NOT_FOUND
    assert node.handle({"id": 1})["error"]["code"] == -32600  # type: ignore[index]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.2", "example.com", "::"])
def test_loopback_only(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        ensure_loopback(host)
    with pytest.raises(ValueError):
        Devnet(host, 0)


def test_loopback_hosts_pass() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        ensure_loopback(host)


def test_svm_node_refuses_json_parsed_and_bad_keys() -> None:
    from rucksack.chains.devnet.svm_node import SvmNode
    from rucksack.chains.registry import get_chain

    node = SvmNode(get_chain("eclipse"))
    assert call(node, "getAccountInfo", "11111111111111111111111111111111", {"encoding": "jsonParsed"})["error"]
    assert call(node, "getBalance", "not-a-key")["error"]["code"] == -32602
    assert call(node, "getBalance", "11111111111111111111111111111112")["result"]["value"] == 0
    assert call(node, "getHealth")["result"] == "ok"


def test_evm_node_enforces_its_chain_id() -> None:
    from rucksack.chains.devnet import genesis
    from rucksack.chains.devnet.evm_node import EvmNode
    from rucksack.chains.registry import get_chain

    node = EvmNode(get_chain("optimism"))
    assert call(node, "eth_chainId")["result"] == "0xa"
    key = genesis.evm_account(3)
    tx = {"type": 2, "chainId": 10, "nonce": 0, "to": key.address, "value": 1, "gas": 21000}
    tx |= {"maxFeePerGas": 10**10, "maxPriorityFeePerGas": 1}
    ok = call(node, "eth_sendRawTransaction", "0x" + bytes(key.sign_transaction(tx).raw_transaction).hex())
    assert ok["result"].startswith("0x")
    for wrong in (1, 8453, 137):
        raw = Account.sign_transaction({**tx, "nonce": 1, "chainId": wrong}, key.key).raw_transaction
        err = call(node, "eth_sendRawTransaction", "0x" + bytes(raw).hex())["error"]
        assert "invalid chain id" in err["message"]
    assert call(node, "eth_getTransactionCount", key.address, "latest")["result"] == "0x1"
