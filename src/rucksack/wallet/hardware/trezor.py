"""``TrezorDevice``: a Trezor through trezorlib (optional extra ``rucksack[trezor]``).

UNTESTED AGAINST A DEVICE: no Trezor and no Trezor emulator exist where this was written (the
emulator is built from trezor-firmware sources; it is on no package registry). What is tested:
the import guard, and that with the library present and nothing connected, opening fails with
``DeviceNotFound`` quickly. The calls follow trezorlib 0.20's own API (``trezorlib.solana``,
``trezorlib.ethereum``) and are checked by our own verification, not trusted:

- Solana: ``solana.get_public_key`` / ``solana.sign_tx`` (the serialized *message*, legacy or v0;
  the Trezor parses and shows it itself). Each signature is verified against the device's public
  key by ``DeviceSvmSigner`` before use.
- EVM: ``ethereum.get_address``, ``ethereum.sign_typed_data`` (the full EIP-712 document, shown
  field by field on the device; never ``sign_typed_data_hash``), ``ethereum.sign_tx_eip1559`` (the
  raw transaction is assembled from ``r``/``s`` with the parity that recovers the device's own
  address), ``ethereum.sign_message``.
- Off-chain Solana messages: trezorlib 0.20 signs its own off-chain format (``SolanaOffchainMessageV1``
  built on the device), not the v0 header the wallet uses, so a signature would not verify
  against the wallet's payload. ``sign_offchain_message`` raises ``DeviceUnsupported`` saying so.
- Transports: trezorlib's enumeration (USB/WebUSB, Bridge, and the emulator's UDP
  ``127.0.0.1:21324``); ``trezor:udp:127.0.0.1:21324`` names one.
- A press of "cancel" (``Cancelled``, failure ``ActionCancelled``) is ``SignerRefused``; other
  device failures are ``SignerRefused`` with the device's message when the device declined the
  data (``DataError``), else ``DeviceError``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

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

INSTALL = "Trezor support needs the optional extra: pip install 'rucksack[trezor]' (trezorlib)"
EMULATOR = "udp:127.0.0.1:21324"
T = TypeVar("T")


def _lib() -> Any:
    try:
        import trezorlib  # noqa: F401
        from trezorlib import transport
    except ImportError:
        raise ExtraMissing(INSTALL) from None
    return transport


def _mod(name: str) -> Any:
    """A trezorlib module, typed loosely (its ``@workflow`` decorator hides signatures from mypy)."""
    import importlib

    return importlib.import_module(f"trezorlib.{name}")


def list_trezors() -> list[str]:
    """Paths of connected Trezors (and a running emulator); ``[]`` when there are none."""
    transport = _lib()
    return [str(t.get_path()) for t in transport.enumerate_devices()]


class TrezorDevice(HardwareSigner):
    kind = "trezor"

    def __init__(self, path: str | None = None, *, app_name: str = "rucksack") -> None:
        transport = _lib()
        from trezorlib.client import get_default_client, get_default_session

        try:
            found = transport.get_transport(path, prefix_search=True)
        except transport.TransportException as exc:
            where = f" at {path}" if path else " (USB, Bridge, or the emulator on UDP 127.0.0.1:21324)"
            raise DeviceNotFound(f"no Trezor found{where}: {exc}") from None
        try:
            self._client = get_default_client(app_name, found)
            self._session = get_default_session(self._client)
        except Exception as exc:  # pairing, PIN, an old firmware: the transport is there, the device is not ready
            raise DeviceError(f"the Trezor at {found.get_path()} is not ready: {exc}") from None
        self._path = str(found.get_path())

    @property
    def name(self) -> str:
        model = getattr(getattr(self._client, "model", None), "name", "Trezor")
        return f"{model} at {self._path}"

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already gone: closing must not raise
            self._session.close()

    def _call(self, fn: Callable[[], T]) -> T:
        from trezorlib import exceptions, messages

        try:
            return fn()
        except exceptions.Cancelled:
            raise SignerRefused("rejected on the Trezor") from None
        except exceptions.TrezorFailure as exc:
            code = exc.code
            if code in (messages.FailureType.ActionCancelled, messages.FailureType.PinCancelled):
                raise SignerRefused("rejected on the Trezor") from None
            if code == messages.FailureType.DataError:
                raise SignerRefused(f"the Trezor refused the request: {exc.message}") from None
            raise DeviceError(f"Trezor failure: {exc}") from None
        except exceptions.TrezorException as exc:
            raise DeviceError(f"Trezor error: {exc}") from None

    def get_address(self, family: str, path: str, *, show: bool = False) -> str:
        ethereum, solana = _mod("ethereum"), _mod("solana")

        n = parse_path(path)
        if family == SVM:
            return self._call(lambda: str(solana.get_address(self._session, n, show)))
        if family == EVM:
            from eth_utils.address import to_checksum_address

            return to_checksum_address(self._call(lambda: ethereum.get_address(self._session, n, show)))
        raise ValueError(f"unknown family {family!r} (svm or evm)")

    def sign_solana_message(self, path: str, message: bytes) -> bytes:
        solana = _mod("solana")

        n = parse_path(path)
        sig = self._call(lambda: solana.sign_tx(self._session, n, bytes(message), None))
        if len(sig) != 64:
            raise DeviceError(f"the Trezor returned a {len(sig)}-byte Solana signature")
        return bytes(sig)

    def sign_offchain_message(self, path: str, message: bytes) -> bytes:
        raise DeviceUnsupported(
            "trezorlib signs Solana off-chain messages in its own format (built on the device), "
            "not the v0 header this wallet signs and verifies; not supported for Trezor"
        )

    def sign_evm_typed_data(self, path: str, typed: dict[str, Any]) -> bytes:
        ethereum = _mod("ethereum")

        n = parse_path(path)
        got = self._call(lambda: ethereum.sign_typed_data(self._session, n, typed))
        return bytes(got.signature)

    def sign_evm_transaction(self, path: str, tx: dict[str, Any]) -> bytes:
        ethereum = _mod("ethereum")

        parsed = evm_tx.normalize(tx)
        n = parse_path(path)
        address = self.get_address(EVM, path)
        _v, r, s = self._call(
            lambda: ethereum.sign_tx_eip1559(
                self._session,
                n,
                nonce=parsed.nonce,
                gas_limit=parsed.gas,
                to=parsed.to or "",
                value=parsed.value,
                data=parsed.data,
                chain_id=parsed.chain_id,
                max_gas_fee=parsed.max_fee_per_gas,
                max_priority_fee=parsed.max_priority_fee_per_gas,
            )
        )
        return evm_tx.assemble(parsed, int.from_bytes(r, "big"), int.from_bytes(s, "big"), address)

    def sign_evm_personal_message(self, path: str, message: bytes) -> bytes:
        ethereum = _mod("ethereum")

        n = parse_path(path)
        got = self._call(lambda: ethereum.sign_message(self._session, n, bytes(message)))
        return bytes(got.signature)
