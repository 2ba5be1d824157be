"""``LedgerDevice``: a Ledger through ledgercomm (optional extra ``rucksack[ledger]``), over USB HID
or TCP to Speculos (``ledger:tcp:127.0.0.1:9999``).

UNTESTED AGAINST A DEVICE OR SPECULOS: no Ledger exists where this was written, and no registry
ships the Solana (or Ethereum) app binary Speculos would need. What is tested: the import guard,
that a closed TCP port fails with ``DeviceNotFound`` within the connect timeout, and the APDU
encodings below against the documented layouts (unit tests of the bytes we would send).

There is no Python client for the Ledger Solana app on PyPI, so this speaks its documented APDUs
(LedgerHQ/app-solana ``doc/api.md``; the same ones ``@ledgerhq/hw-app-solana`` sends), CLA ``0xE0``:

- ``GET_PUBKEY`` INS ``0x05``, P1 ``0x00`` (silent) / ``0x01`` (show on the device), P2 ``0x00``,
  data = path. Reply: the 32-byte public key.
- ``SIGN_MESSAGE`` INS ``0x06`` / ``SIGN_OFFCHAIN_MESSAGE`` INS ``0x07``, P1 ``0x01``, data = ``0x01``
  (one signer) + path + the serialized message (legacy, or v0 with its ``0x80`` prefix) / the full
  off-chain message with its header. Chunked by 255 bytes: every chunk but the last carries
  P2 ``MORE`` (``0x02``), every chunk after the first P2 ``EXTEND`` (``0x01``). Reply: 64 bytes.
- Path = 1 byte count + each step as 4 bytes big endian (hardened = ``| 0x80000000``).

The Ethereum app (INS per LedgerHQ/app-ethereum ``doc/ethapp.adoc``), only what is cheap:

- ``GET_ETH_PUBLIC_ADDRESS`` INS ``0x02`` -> the address (checked against the public key).
- ``SIGN_ETH_TRANSACTION`` INS ``0x04`` (P1 ``0x00`` first chunk, ``0x80`` the rest): path + the
  unsigned ``0x02 || rlp(...)``; the raw transaction is assembled from ``r``/``s`` with the parity
  that recovers the device's address (``evm_tx.assemble``).
- ``SIGN_ETH_PERSONAL_MESSAGE`` INS ``0x08``: path + 4-byte length + message.
- **EIP-712 is not implemented**: the app's full-message mode needs struct definitions and field
  values streamed in its own encoding (INS ``0x1A``/``0x1C``); its v0 mode takes two hashes, which is
  blind signing. ``sign_evm_typed_data`` raises ``DeviceUnsupported`` -- use a Trezor or the software
  device for Safe co-signing until it is written.

Before each command the running app is asked its name (BOLOS ``GET_APP_AND_VERSION``, CLA ``0xB0``
INS ``0x01``), so a Solana request never reaches the Ethereum app or the reverse. Status words:
``0x9000`` ok; ``0x6985`` (rejected on the device) and the blind-signing refusals (Solana
``0x6808``, Ethereum ``0x6A80``) are ``SignerRefused``; others are ``DeviceError`` with the code.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from rucksack.wallet.hardware import evm_tx
from rucksack.wallet.hardware.base import (
    EVM,
    SVM,
    DeviceError,
    DeviceNotFound,
    DeviceUnsupported,
    ExtraMissing,
    HardwareSigner,
    parse_path,
)
from rucksack.wallet.signers import SignerRefused

INSTALL = "Ledger support needs the optional extra: pip install 'rucksack[ledger]' (ledgercomm)"
CLA = 0xE0
MAX_CHUNK = 255
SW_OK = 0x9000
SW_REJECTED = 0x6985
SOL_GET_PUBKEY, SOL_SIGN_MESSAGE, SOL_SIGN_OFFCHAIN = 0x05, 0x06, 0x07
SOL_P1_SILENT, SOL_P1_CONFIRM = 0x00, 0x01
SOL_P2_EXTEND, SOL_P2_MORE = 0x01, 0x02
SOL_SW_BLIND_SIGNING_DISABLED = 0x6808
ETH_GET_ADDRESS, ETH_SIGN_TX, ETH_SIGN_PERSONAL = 0x02, 0x04, 0x08
ETH_SW_BLIND_SIGNING_DISABLED = 0x6A80
APP_NAMES = {SVM: "Solana", EVM: "Ethereum"}


def encode_path(path: str) -> bytes:
    steps = parse_path(path)
    return bytes([len(steps)]) + b"".join(s.to_bytes(4, "big") for s in steps)


def solana_chunks(ins: int, path: str, payload: bytes) -> list[tuple[int, int, int, bytes]]:
    """``(ins, p1, p2, data)`` APDUs for a Solana signing command (``hw-app-solana``'s chunking)."""
    data = b"\x01" + encode_path(path) + payload
    parts = [data[i : i + MAX_CHUNK] for i in range(0, len(data), MAX_CHUNK)] or [b""]
    out = []
    for n, part in enumerate(parts):
        p2 = (SOL_P2_EXTEND if n else 0) | (SOL_P2_MORE if n < len(parts) - 1 else 0)
        out.append((ins, SOL_P1_CONFIRM, p2, part))
    return out


def eth_chunks(ins: int, first: bytes, rest: bytes) -> list[tuple[int, int, int, bytes]]:
    """Ethereum app chunking: P1 0x00 on the first APDU, 0x80 on the following ones."""
    data = first + rest
    parts = [data[i : i + MAX_CHUNK] for i in range(0, len(data), MAX_CHUNK)]
    return [(ins, 0x00 if n == 0 else 0x80, 0x00, part) for n, part in enumerate(parts)]


def parse_eth_address_reply(reply: bytes) -> str:
    pk_len = reply[0]
    pubkey = reply[1 : 1 + pk_len]
    addr_len = reply[1 + pk_len]
    ascii_addr = reply[2 + pk_len : 2 + pk_len + addr_len].decode("ascii")
    derived = to_checksum_address(keccak(pubkey[1:])[-20:])
    if derived.lower() != "0x" + ascii_addr.lower().removeprefix("0x"):
        raise DeviceError("the Ledger's address does not match its public key")
    return derived


def _lib() -> Any:
    try:
        from ledgercomm import Transport  # type: ignore[import-untyped]
    except ImportError:
        raise ExtraMissing(INSTALL) from None
    return Transport


def list_ledgers() -> list[str]:
    """USB HID Ledgers (``[]`` without any); ``ExtraMissing`` without hidapi."""
    _lib()
    from ledgercomm.interfaces import hid_device  # type: ignore[import-untyped]

    if hid_device.hid is None:
        raise ExtraMissing("listing Ledgers over USB needs hidapi: pip install hidapi")
    return [p.decode(errors="replace") if isinstance(p, bytes) else str(p) for p in hid_device.HID.enumerate_devices()]


class LedgerDevice(HardwareSigner):
    kind = "ledger"

    def __init__(
        self,
        interface: str = "hid",
        server: str = "127.0.0.1",
        port: int = 9999,
        *,
        connect_timeout: float = 3.0,
        reply_timeout: float = 300.0,  # a person reading the screen and pressing a button
    ) -> None:
        transport = _lib()
        self._where = f"tcp:{server}:{port}" if interface == "tcp" else "usb"
        if interface == "tcp":
            try:  # ledgercomm's own connect has no timeout: probe first
                socket.create_connection((server, port), timeout=connect_timeout).close()
            except OSError as exc:
                raise DeviceNotFound(f"no Ledger (Speculos) at {server}:{port}: {exc}") from None
        elif interface != "hid":
            raise ValueError(f"Ledger interface is hid or tcp, not {interface!r}")
        try:
            self._t = transport(interface=interface, server=server, port=port, debug=False)
        except ImportError:
            raise ExtraMissing("Ledger over USB needs hidapi: pip install hidapi") from None
        except Exception as exc:  # CannotFindDeviceError, a refused connection, an open failure
            raise DeviceNotFound(f"no Ledger found ({self._where}): {exc}") from None
        sock = getattr(self._t.com, "socket", None)
        if sock is not None:
            sock.settimeout(reply_timeout)

    @property
    def name(self) -> str:
        return f"Ledger ({self._where})"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._t.close()

    # -- APDU exchange --------------------------------------------------------------------------

    def _exchange(self, cla: int, ins: int, p1: int, p2: int, data: bytes) -> tuple[int, bytes]:
        try:
            sw, reply = self._t.exchange(cla, ins, p1, p2, None, data)
        except TimeoutError:
            raise DeviceError(f"the Ledger ({self._where}) did not answer in time") from None
        except OSError as exc:
            raise DeviceError(f"lost the Ledger ({self._where}): {exc}") from None
        return int(sw), bytes(reply)

    def running_app(self) -> str:
        sw, reply = self._exchange(0xB0, 0x01, 0x00, 0x00, b"")
        if sw != SW_OK or len(reply) < 2:
            raise DeviceError(f"the Ledger did not say which app runs (status 0x{sw:04X}); unlock it")
        return reply[2 : 2 + reply[1]].decode("ascii", errors="replace")

    def _require_app(self, family: str) -> None:
        app = self.running_app()
        if app != APP_NAMES[family]:
            raise DeviceError(f"open the {APP_NAMES[family]} app on the Ledger (running: {app})")

    def _send(self, family: str, apdus: list[tuple[int, int, int, bytes]]) -> bytes:
        self._require_app(family)
        reply = b""
        for ins, p1, p2, data in apdus:
            sw, reply = self._exchange(CLA, ins, p1, p2, data)
            if sw == SW_REJECTED:
                raise SignerRefused("rejected on the Ledger")
            blind = SOL_SW_BLIND_SIGNING_DISABLED if family == SVM else ETH_SW_BLIND_SIGNING_DISABLED
            if sw == blind:
                raise SignerRefused(
                    f"the Ledger {APP_NAMES[family]} app cannot show this request and blind signing is "
                    "disabled: enable it in the app's settings to sign anyway"
                )
            if sw != SW_OK:
                raise DeviceError(f"the Ledger answered status 0x{sw:04X}")
        return reply

    # -- HardwareSigner -------------------------------------------------------------------------

    def get_address(self, family: str, path: str, *, show: bool = False) -> str:
        if family == SVM:
            from solders.pubkey import Pubkey

            p1 = SOL_P1_CONFIRM if show else SOL_P1_SILENT
            reply = self._send(SVM, [(SOL_GET_PUBKEY, p1, 0x00, encode_path(path))])
            if len(reply) != 32:
                raise DeviceError(f"the Ledger returned a {len(reply)}-byte Solana public key")
            return str(Pubkey.from_bytes(reply))
        if family == EVM:
            reply = self._send(EVM, [(ETH_GET_ADDRESS, 0x01 if show else 0x00, 0x00, encode_path(path))])
            return parse_eth_address_reply(reply)
        raise ValueError(f"unknown family {family!r} (svm or evm)")

    def _sol_sign(self, ins: int, path: str, payload: bytes) -> bytes:
        sig = self._send(SVM, solana_chunks(ins, path, bytes(payload)))
        if len(sig) != 64:
            raise DeviceError(f"the Ledger returned a {len(sig)}-byte Solana signature")
        return sig

    def sign_solana_message(self, path: str, message: bytes) -> bytes:
        return self._sol_sign(SOL_SIGN_MESSAGE, path, message)

    def sign_offchain_message(self, path: str, message: bytes) -> bytes:
        return self._sol_sign(SOL_SIGN_OFFCHAIN, path, message)

    def sign_evm_typed_data(self, path: str, typed: dict[str, Any]) -> bytes:
        raise DeviceUnsupported(
            "EIP-712 on the Ledger Ethereum app is not implemented here (its full-message mode needs "
            "the struct-streaming APDUs; its hash mode would be blind signing)"
        )

    def _vrs(self, reply: bytes) -> tuple[int, int]:
        if len(reply) < 65:
            raise DeviceError(f"the Ledger returned a {len(reply)}-byte Ethereum signature")
        return int.from_bytes(reply[1:33], "big"), int.from_bytes(reply[33:65], "big")

    def sign_evm_transaction(self, path: str, tx: dict[str, Any]) -> bytes:
        parsed = evm_tx.normalize(tx)
        address = self.get_address(EVM, path)
        reply = self._send(EVM, eth_chunks(ETH_SIGN_TX, encode_path(path), parsed.unsigned()))
        r, s = self._vrs(reply)
        return evm_tx.assemble(parsed, r, s, address)

    def sign_evm_personal_message(self, path: str, message: bytes) -> bytes:
        address = self.get_address(EVM, path)
        first = encode_path(path) + len(message).to_bytes(4, "big")
        reply = self._send(EVM, eth_chunks(ETH_SIGN_PERSONAL, first, bytes(message)))
        r, s = self._vrs(reply)
        digest = bytes(keccak(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + bytes(message)))
        return evm_tx.rsv65(digest, r, s, address)
