"""Hardware signers without hardware: the software device behaves like one (same addresses as the
keystore, parse-then-sign, blind signing refused unless enabled, off-chain header required, a
rejection is SignerRefused, a tamper-evident log), the adapters satisfy the signer protocols, and
the Trezor/Ledger adapters fail fast and clearly with nothing connected."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from rucksack.chains.evm import erc20
from rucksack.chains.registry import DEVNET_EVM_USDC, DEVNET_SVM_USDC_MINT
from rucksack.chains.svm import transfers as codec
from rucksack.wallet import messages
from rucksack.wallet.hardware import evm_tx, ledger, open_device
from rucksack.wallet.hardware.base import (
    DeviceNotFound,
    DeviceUnsupported,
    ExtraMissing,
    Screen,
    format_path,
    parse_path,
)
from rucksack.wallet.hardware.send import sign_svm
from rucksack.wallet.hardware.signing_log import SigningLog, verify_entries
from rucksack.wallet.hardware.software import LABEL, SoftwareDevice
from rucksack.wallet.keys import EVM, SCHEMES, SVM, Secret, account_ref
from rucksack.wallet.signers import EvmSigner, SignerRefused, SvmSigner

PHRASE = "abandon " * 11 + "about"
SOL0 = "m/44'/501'/0'/0'"
ETH0 = "m/44'/60'/0'/0'"
UNKNOWN = Pubkey.from_string("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")


class Buttons:
    """The device's buttons: records every screen, answers ``approve``."""

    def __init__(self, approve: bool = True) -> None:
        self.approve = approve
        self.screens: list[Screen] = []

    def __call__(self, screen: Screen) -> bool:
        self.screens.append(screen)
        return self.approve


def device(approve: bool = True, blind: bool = False) -> tuple[SoftwareDevice, Buttons]:
    buttons = Buttons(approve)
    return SoftwareDevice(PHRASE, confirm=buttons, blind_signing=blind), buttons


def typed(chain_id: int = 8453) -> dict[str, Any]:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Mail": [{"name": "to", "type": "address"}, {"name": "contents", "type": "string"}],
        },
        "primaryType": "Mail",
        "domain": {"name": "Rucksack", "chainId": chain_id, "verifyingContract": DEVNET_EVM_USDC},
        "message": {"to": "0x" + "11" * 20, "contents": "hello from a device"},
    }


# -- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("family", [SVM, EVM])
def test_same_addresses_as_the_keystore(family: str) -> None:
    dev, _ = device()
    secret = Secret.from_mnemonic(PHRASE)
    for scheme, template in SCHEMES[family].items():
        if scheme == "sollet":
            continue  # secp256k1-derived ed25519 seed: no device derives it
        for i in (0, 3):
            want = account_ref(secret, family, scheme, i).address
            assert dev.get_address(family, template.format(i=i)) == want, (scheme, i)


def test_published_vectors_and_paths() -> None:
    dev, _ = device()
    assert dev.get_address(SVM, SOL0) == "HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk"
    assert dev.get_address(EVM, "m/44'/60'/0'/0/0") == "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"
    assert format_path(parse_path("44h/501'/0'/0'")) == SOL0
    for bad in ("", "m", "m/44'/x", "m/" + "/".join(["0"] * 11), "m/2147483648"):
        with pytest.raises(ValueError):
            parse_path(bad)
    with pytest.raises(ValueError):  # SLIP-10 ed25519 has no unhardened levels
        dev.get_address(SVM, "m/44'/501'/0/0")


def test_show_address_needs_confirmation() -> None:
    dev, buttons = device(approve=False)
    with pytest.raises(SignerRefused):
        dev.get_address(SVM, SOL0, show=True)
    assert buttons.screens[0].kind == "address"


def test_never_exports_the_secret() -> None:
    dev, _ = device()
    text = repr(dev) + str(dev) + dev.name
    assert "abandon" not in text and "redacted" in text and LABEL in dev.name
    public = [n for n in dir(dev) if not n.startswith("_")]
    assert not any(word in n for n in public for word in ("secret", "seed", "mnemonic", "private", "key"))


# -- Solana ------------------------------------------------------------------------------------


def _payer() -> Pubkey:
    return Pubkey.from_string(device()[0].get_address(SVM, SOL0))


def test_solana_transfer_is_parsed_shown_and_signed() -> None:
    dev, buttons = device()
    me, to = _payer(), Keypair().pubkey()
    mint = Pubkey.from_string(DEVNET_SVM_USDC_MINT)
    for msg in (
        codec.native_transfer_message(me, to, 250_000_000),
        codec.token_transfer_message(me, to, mint, 12_500_000, 6),
    ):
        data = bytes(msg)
        sig = Signature.from_bytes(dev.sign_solana_message(SOL0, data))
        assert sig.verify(me, data)
    native, token = buttons.screens
    assert not native.blind and any("0.25 SOL" in line for line in native.lines)
    assert any(str(to) in line for line in native.lines)
    assert not token.blind and any("12.5 of mint" in line for line in token.lines)
    assert any("associated token account" in line for line in token.lines)


def test_v0_message_is_parsed() -> None:
    dev, buttons = device()
    me = _payer()
    budget = Instruction(codec.COMPUTE_BUDGET_PROGRAM_ID, bytes([2]) + (200_000).to_bytes(4, "little"), [])
    msg = MessageV0.try_compile(me, [budget], [], Hash.default())
    data = to_bytes_versioned(msg)
    assert Signature.from_bytes(dev.sign_solana_message(SOL0, data)).verify(me, data)
    assert "v0" in buttons.screens[0].title and any("200000" in line for line in buttons.screens[0].lines)


def test_unknown_program_needs_blind_signing() -> None:
    me = _payer()
    ix = Instruction(UNKNOWN, b"opaque", [AccountMeta(me, True, True)])
    data = bytes(Message([ix], me))
    dev, buttons = device(blind=False)
    with pytest.raises(SignerRefused, match="blind signing is disabled"):
        dev.sign_solana_message(SOL0, data)
    assert buttons.screens == []  # refused before asking
    blind_dev, blind_buttons = device(blind=True)
    sig = Signature.from_bytes(blind_dev.sign_solana_message(SOL0, data))
    assert sig.verify(me, data)
    screen = blind_buttons.screens[0]
    assert screen.blind and any("Message hash" in line for line in screen.lines)
    assert dev.log.entries[-1]["outcome"].startswith("refused")
    assert blind_dev.log.entries[-1]["outcome"] == "signed"


def test_refuses_what_is_not_its_message() -> None:
    dev, _ = device(blind=True)
    other = Keypair()
    msg = codec.native_transfer_message(other.pubkey(), Keypair().pubkey(), 1)
    with pytest.raises(SignerRefused, match="not a signer"):
        dev.sign_solana_message(SOL0, bytes(msg))
    tx = VersionedTransaction(msg, [other])
    with pytest.raises(SignerRefused, match="cannot parse"):
        dev.sign_solana_message(SOL0, bytes(tx))  # a whole transaction, not a message
    with pytest.raises(SignerRefused, match="cannot parse"):
        dev.sign_solana_message(SOL0, bytes(Message([], _payer())) + b"\x00")


def test_rejection_on_the_device() -> None:
    dev, buttons = device(approve=False)
    me = _payer()
    with pytest.raises(SignerRefused, match="rejected on the device"):
        dev.sign_solana_message(SOL0, bytes(codec.native_transfer_message(me, me, 1)))
    with pytest.raises(SignerRefused):
        dev.sign_evm_typed_data(ETH0, typed())
    assert len(buttons.screens) == 2


def test_offchain_message_needs_the_header() -> None:
    dev, buttons = device()
    me = dev.get_address(SVM, SOL0)
    with pytest.raises(SignerRefused, match="header is required"):
        dev.sign_offchain_message(SOL0, b"hello")
    payload = messages.solana_offchain_payload(b"I own this address")
    sig = dev.sign_offchain_message(SOL0, payload)
    assert messages.verify_solana(me, payload, str(Signature.from_bytes(sig)))
    assert any("I own this address" in line for line in buttons.screens[-1].lines)
    with pytest.raises(SignerRefused, match="says"):
        dev.sign_offchain_message(SOL0, payload + b"x")  # the length no longer matches
    long = messages.solana_offchain_payload(("x" * 2000).encode())  # format 2: hash only
    with pytest.raises(SignerRefused, match="blind signing"):
        dev.sign_offchain_message(SOL0, long)


def test_svm_signer_adapter_and_multi_signer_transactions() -> None:
    dev, _ = device()
    signer = dev.svm_signer(SOL0)
    assert isinstance(signer, SvmSigner)
    other = Keypair()
    ix = Instruction(
        codec.COMPUTE_BUDGET_PROGRAM_ID,
        bytes([3]) + (1).to_bytes(8, "little"),
        [AccountMeta(other.pubkey(), True, False)],
    )
    msg = Message([ix], signer.pubkey())
    tx = sign_svm(msg, [other, signer], Hash.new_unique())
    assert tx.verify_with_results() == [True, True]
    with pytest.raises(ValueError, match="missing"):
        sign_svm(msg, [signer], Hash.new_unique())


# -- EVM ---------------------------------------------------------------------------------------


def test_typed_data_recovers_to_the_device() -> None:
    dev, buttons = device()
    signer = dev.evm_signer(ETH0)
    assert isinstance(signer, EvmSigner)
    sig = signer.sign_typed_data(typed())
    assert len(sig) == 65 and sig[64] in (27, 28)
    assert Account.recover_message(encode_typed_data(full_message=typed()), signature=sig) == signer.address
    lines = buttons.screens[0].lines
    assert "Primary type: Mail" in lines and "contents: hello from a device" in lines
    assert any(line.startswith("Domain name: Rucksack") for line in lines)
    with pytest.raises(SignerRefused, match="EIP-712"):
        dev.sign_evm_typed_data(ETH0, {"message": {}})  # a bare thing without types is refused


def test_personal_message() -> None:
    dev, buttons = device()
    sig = dev.sign_evm_personal_message(ETH0, b"hi there")
    assert Account.recover_message(encode_defunct(primitive=b"hi there"), signature=sig) == dev.get_address(EVM, ETH0)
    assert "> hi there" in buttons.screens[0].lines


def _tx(**over: Any) -> dict[str, Any]:
    tx = {
        "type": 2, "chainId": 8453, "nonce": 7, "to": "0x" + "22" * 20, "value": 10**17, "data": b"",
        "gas": 21_000, "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9,
    }  # fmt: skip
    return {**tx, **over}


def test_evm_transaction_signing_and_blind_data() -> None:
    dev, buttons = device()
    me = dev.get_address(EVM, ETH0)
    raw = dev.sign_evm_transaction(ETH0, _tx())
    assert Account.recover_transaction(raw) == me
    assert any("0.1 ETH" in line for line in buttons.screens[0].lines)
    token_call = _tx(to=DEVNET_EVM_USDC, value=0, data=erc20.transfer_data("0x" + "33" * 20, 12_500_000), gas=90_000)
    assert Account.recover_transaction(dev.sign_evm_transaction(ETH0, token_call)) == me
    assert any("12.5 USDC" in line for line in buttons.screens[1].lines)
    contract_call = _tx(data=bytes.fromhex("deadbeef") + b"\x00" * 32)
    with pytest.raises(SignerRefused, match="blind signing"):
        dev.sign_evm_transaction(ETH0, contract_call)
    with pytest.raises(SignerRefused, match="cannot parse"):
        dev.sign_evm_transaction(ETH0, {k: v for k, v in _tx().items() if k != "chainId"})
    blind_dev, _ = device(blind=True)
    assert Account.recover_transaction(blind_dev.sign_evm_transaction(ETH0, contract_call)) == me


def test_assembling_a_device_signature_matches_eth_account() -> None:
    acct = Account.from_key(b"\x01" * 32)
    tx = evm_tx.normalize(_tx(data=b"\x01\x02"))
    signed = acct.sign_transaction({**_tx(data=b"\x01\x02")})
    assert evm_tx.assemble(tx, signed.r, signed.s, acct.address) == bytes(signed.raw_transaction)
    with pytest.raises(Exception, match="does not recover"):
        evm_tx.assemble(tx, signed.r, signed.s, "0x" + "44" * 20)


# -- the log -----------------------------------------------------------------------------------


def test_signing_log_is_tamper_evident(tmp_path: Any) -> None:
    log = SigningLog(tmp_path / "log.jsonl")
    dev = SoftwareDevice(PHRASE, confirm=Buttons(), log=log)
    dev.sign_evm_personal_message(ETH0, b"one")
    with pytest.raises(SignerRefused):
        dev.sign_offchain_message(SOL0, b"no header")
    dev.sign_evm_personal_message(ETH0, b"three")
    assert log.verify() and len(log.entries) == 3
    assert SigningLog.load(tmp_path / "log.jsonl").head == log.head
    text = (tmp_path / "log.jsonl").read_text()
    assert "abandon" not in text
    entries = [dict(e) for e in log.entries]
    entries[1]["outcome"] = "signed"
    with pytest.raises(ValueError, match="entry 1"):
        verify_entries(entries)
    with pytest.raises(ValueError, match="entry 1"):
        verify_entries([entries[0], entries[2]])


# -- specs and real-device adapters --------------------------------------------------------------


def test_open_device_specs(tmp_path: Any) -> None:
    words = tmp_path / "words.txt"
    words.write_text(PHRASE + "\n")
    dev = open_device(f"software:{words}", confirm=Buttons())
    assert isinstance(dev, SoftwareDevice) and dev.get_address(SVM, SOL0).startswith("HAgk")
    for bad in ("software", "nano", "ledger:bt", "ledger:tcp:127.0.0.1:x", ""):
        with pytest.raises(ValueError, match="spec"):
            open_device(bad)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_ledger_tcp_without_speculos_fails_fast() -> None:
    start = time.monotonic()
    with pytest.raises(DeviceNotFound, match="no Ledger"):
        open_device(f"ledger:tcp:127.0.0.1:{_closed_port()}")
    assert time.monotonic() - start < 5


def test_ledger_hid_without_a_device_is_clear() -> None:
    with pytest.raises((DeviceNotFound, ExtraMissing), match=r"Ledger|hidapi"):
        open_device("ledger")


def test_trezor_without_a_device(monkeypatch: pytest.MonkeyPatch) -> None:
    from trezorlib import transport

    monkeypatch.setattr(transport, "enumerate_devices", lambda models=None: [])
    start = time.monotonic()
    with pytest.raises(DeviceNotFound, match="no Trezor found"):
        open_device("trezor")
    assert time.monotonic() - start < 5


def test_missing_extras_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_extras(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.split(".")[0] in ("trezorlib", "ledgercomm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_extras)
    with pytest.raises(ExtraMissing, match=r"rucksack\[trezor\]"):
        open_device("trezor")
    with pytest.raises(ExtraMissing, match=r"rucksack\[ledger\]"):
        open_device("ledger:tcp:127.0.0.1:9999")


def test_ledger_apdu_encoding() -> None:
    assert ledger.encode_path(SOL0).hex() == "04" + "8000002c" + "800001f5" + "80000000" + "80000000"
    msg = bytes(range(256)) * 2  # 512 bytes: three chunks with the 18-byte prefix
    apdus = ledger.solana_chunks(ledger.SOL_SIGN_MESSAGE, SOL0, msg)
    assert [(ins, p1, p2) for ins, p1, p2, _ in apdus] == [(6, 1, 2), (6, 1, 3), (6, 1, 1)]
    joined = b"".join(d for *_, d in apdus)
    assert joined == b"\x01" + ledger.encode_path(SOL0) + msg and all(len(d) <= 255 for *_, d in apdus)
    assert ledger.solana_chunks(ledger.SOL_SIGN_OFFCHAIN, SOL0, b"x")[0][1:3] == (1, 0)
    eth = ledger.eth_chunks(ledger.ETH_SIGN_TX, b"\x01" * 21, b"\x02" * 300)
    assert [p1 for _, p1, _, _ in eth] == [0x00, 0x80]


def test_trezor_offchain_is_unsupported_not_wrong() -> None:
    from rucksack.wallet.hardware.trezor import TrezorDevice

    with pytest.raises(DeviceUnsupported, match="off-chain"):
        TrezorDevice.sign_offchain_message(object.__new__(TrezorDevice), SOL0, b"")
