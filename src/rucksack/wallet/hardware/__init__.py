"""Hardware signers: one interface (``HardwareSigner``), a software device for tests and demos, and
Ledger / Trezor adapters behind optional extras.

- ``base``: the interface, ``Screen`` (what a device shows), errors, BIP-32 paths, and the adapters
  ``device.svm_signer(path)`` / ``device.evm_signer(path)`` to ``rucksack.wallet.signers``.
- ``solana_screen`` / ``evm_screen``: what a device shows, parsed from the request bytes alone;
  ``evm_tx``: EIP-1559 payloads and assembling a device's ``(r, s)``.
- ``software``: ``SoftwareDevice`` (NOT hardware: the key is in this process) + ``signing_log``.
- ``trezor`` (``rucksack[trezor]``), ``ledger`` (``rucksack[ledger]``): untested without devices.
- ``spec``: ``open_device("software:F" | "trezor" | "ledger" | "ledger:tcp:H:P")``.
- ``send``: device-signed transfers through the wallet's review rule; ``cli``: ``wallet device``.

Nothing here imports trezorlib or ledgercomm at module load; importing this package never needs
the extras.
"""

from rucksack.wallet.hardware.base import (
    DeviceError,
    DeviceNotFound,
    DeviceUnsupported,
    ExtraMissing,
    HardwareSigner,
    Screen,
)
from rucksack.wallet.hardware.spec import list_devices, open_device

__all__ = [
    "DeviceError",
    "DeviceNotFound",
    "DeviceUnsupported",
    "ExtraMissing",
    "HardwareSigner",
    "Screen",
    "list_devices",
    "open_device",
]
