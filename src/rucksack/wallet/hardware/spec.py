"""``open_device(spec)`` and ``list_devices()``: from a short string to a ``HardwareSigner``.

Specs (the ``--device`` option):

- ``software:<mnemonic-file>`` -- ``SoftwareDevice`` from a file whose first line is a BIP-39
  mnemonic; tests and demos only (the key is in this process).
- ``trezor`` -- the first Trezor trezorlib finds (USB, Bridge, emulator); ``trezor:<path>`` one of
  them by trezorlib path, e.g. ``trezor:udp:127.0.0.1:21324`` (the emulator).
- ``ledger`` / ``ledger:hid`` -- a Ledger over USB HID; ``ledger:tcp:<host>:<port>`` -- Speculos
  (port 9999 when omitted).

Invariant: a spec either opens a device or raises a ``DeviceError`` (``ExtraMissing`` when the
optional library is absent, ``DeviceNotFound`` when nothing answers) or ``ValueError`` (a spec that
does not parse) whose message says what to do; it never returns a half-open device.
"""

from __future__ import annotations

from typing import Any

from rucksack.wallet.hardware.base import DeviceError, HardwareSigner

SPEC_HELP = "software:<mnemonic-file> | trezor[:<path>] | ledger[:hid] | ledger:tcp:<host>[:<port>]"


def open_device(spec: str, **options: Any) -> HardwareSigner:
    """``options`` go to the device: ``confirm``/``blind_signing`` for ``software``."""
    kind, _, rest = spec.strip().partition(":")
    kind = kind.lower()
    if kind == "software":
        from rucksack.wallet.hardware.software import SoftwareDevice

        if not rest:
            raise ValueError(f"software device spec needs a mnemonic file: software:<file> ({SPEC_HELP})")
        return SoftwareDevice.from_file(rest, **options)
    if kind == "trezor":
        from rucksack.wallet.hardware.trezor import TrezorDevice

        return TrezorDevice(rest or None, **options)
    if kind == "ledger":
        from rucksack.wallet.hardware.ledger import LedgerDevice

        if rest in ("", "hid", "usb"):
            return LedgerDevice("hid", **options)
        iface, _, address = rest.partition(":")
        if iface != "tcp" or not address:
            raise ValueError(f"ledger spec: ledger, ledger:hid or ledger:tcp:<host>[:<port>], not {spec!r}")
        host, _, port = address.partition(":")
        if port and not port.isdigit():
            raise ValueError(f"ledger spec: port must be a number in {spec!r}")
        return LedgerDevice("tcp", host, int(port or 9999), **options)
    raise ValueError(f"unknown device spec {spec!r}; one of: {SPEC_HELP}")


def list_devices() -> dict[str, Any]:
    """Connected devices per kind, and per kind the reason none can be listed (no extra, no hidapi)."""
    found: list[dict[str, str]] = []
    problems: dict[str, str] = {}
    from rucksack.wallet.hardware import ledger, trezor

    for kind, lister in (("trezor", trezor.list_trezors), ("ledger", ledger.list_ledgers)):
        try:
            found += [{"kind": kind, "spec": f"{kind}:{p}" if kind == "trezor" else kind, "path": p} for p in lister()]
        except DeviceError as exc:
            problems[kind] = str(exc)
    return {"devices": found, "unavailable": problems}
