"""The NFT VIP perk: an account that proves its wallet address holds a token of the designated
ERC-721 collection gets the spec's NFT VIP level (core.tiers), and loses it when the token
leaves that address.

Proof (``POST /api/v1/account/nftVip``):

1. the exchange issues a challenge text for (account, address) -- ``challenge`` -- naming the
   collection and the time, with a nonce that is an HMAC under this process's secret, so the
   exchange keeps no state for it and accepts only texts it wrote, within ``CHALLENGE_TTL_MS``;
2. the wallet signs the text with the holding address's key (EIP-191 ``personal_sign``);
3. ``prove`` checks the text, recovers the signer from the signature (eth-account) and requires
   it to be the address, then asks the chain ``ownerOf(tokenId)`` (``eth_call``) and requires the
   address again; only then is ``GrantNftVip`` journaled.

Lapse: ``watch`` re-checks every holder's ``ownerOf`` on a schedule and journals ``LapseNftVip``
for a token that left its address (or no longer exists). A chain that does not answer changes
nothing: the perk lapses on the chain's word, never on an outage.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field

import httpx

from rucksack.exchange.core import queries
from rucksack.exchange.core.tiers.commands import GrantNftVip, LapseNftVip
from rucksack.exchange.custody.rpc import JsonRpc, RpcError
from rucksack.exchange.scheduler import Clocked

log = logging.getLogger("rucksack.nft_perk")
CHALLENGE_TTL_MS = 300_000
TITLE = "Rucksack NFT VIP: sign to prove that this address holds a token of the collection."
FIELDS = ("Account", "Address", "Collection", "Issued", "Nonce")


class ProofRefused(ValueError):
    """A proof the exchange does not accept (the message says why)."""


@dataclass
class NftPerk:
    """The designated collection on one chain, and the node the exchange asks."""

    chain: str
    collection: str
    rpc_url: str
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @property
    def collection_id(self) -> str:
        return f"{self.chain}:{self.collection}"

    def _nonce(self, account: int, address: str, issued_ms: int) -> str:
        text = f"{account}|{address}|{self.collection_id}|{issued_ms}".encode()
        return hmac.new(self.secret, text, hashlib.sha256).hexdigest()

    def challenge(self, account: int, address: str, now_ms: int) -> str:
        """The text the holding address signs (``ProofRefused`` for a malformed address)."""
        checked = checksum(address)
        values = (str(account), checked, self.collection_id, str(now_ms), self._nonce(account, checked, now_ms))
        return "\n".join([TITLE, *(f"{k}: {v}" for k, v in zip(FIELDS, values, strict=True))])

    def check_challenge(self, account: int, address: str, message: str, now_ms: int) -> None:
        lines = message.split("\n")
        if len(lines) != 1 + len(FIELDS) or lines[0] != TITLE:
            raise ProofRefused("not a challenge this exchange issued")
        got = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        if set(got) != set(FIELDS) or not got["Issued"].isdigit():
            raise ProofRefused("not a challenge this exchange issued")
        issued = int(got["Issued"])
        expected = self.challenge(account, address, issued)
        if not hmac.compare_digest(expected.encode(), message.encode()):
            raise ProofRefused("the challenge was issued for another account, address or collection")
        if not 0 <= now_ms - issued <= CHALLENGE_TTL_MS:
            raise ProofRefused("the challenge has expired: ask for a new one")

    async def owner_of(self, token_id: int) -> str | None:
        """The token's holder on the chain; None when the token does not exist (the call reverts).
        A transport failure raises (``httpx.HTTPError``): the caller decides nothing on it."""
        from rucksack.chains.evm import erc721  # the eth stack loads on first use, after pin_recursion_limit

        rpc = JsonRpc(self.rpc_url)
        try:
            call = {"to": self.collection, "data": "0x" + erc721.owner_of_data(token_id).hex()}
            result = await rpc.call("eth_call", call, "latest")
        except RpcError:
            return None
        finally:
            await rpc.aclose()
        return erc721.decode_owner(bytes.fromhex(str(result).removeprefix("0x")))

    async def prove(
        self, exchange: Clocked, account: int, address: str, token_id: int, message: str, signature: str
    ) -> GrantNftVip:
        """Check a proof end to end; the command to journal when it holds (``ProofRefused`` else)."""
        address = checksum(address)
        self.check_challenge(account, address, message, exchange.clock() // 1000)
        try:
            from eth_account import Account
            from eth_account.messages import encode_defunct

            signer = Account.recover_message(encode_defunct(text=message), signature=signature)
        except Exception as exc:  # a malformed signature: eth-account raises several kinds
            raise ProofRefused("the signature is not a valid EIP-191 signature") from exc
        if signer != address:
            raise ProofRefused("the signature was not made by that address")
        try:
            holder = await self.owner_of(token_id)
        except httpx.HTTPError as exc:
            raise ProofRefused(f"the {self.chain} node did not answer; try again") from exc
        if holder != address:
            raise ProofRefused(f"token {token_id} of the collection is not held by that address")
        return GrantNftVip(account, address, token_id)


def checksum(address: str) -> str:
    from eth_utils.address import is_address, to_checksum_address

    if not isinstance(address, str) or not is_address(address):
        raise ProofRefused("address must be a 0x EVM address")
    return to_checksum_address(address)


async def recheck(exchange: Clocked, perk: NftPerk) -> int:
    """Journal ``LapseNftVip`` for each holder whose token left its address; how many lapsed."""
    lapsed = 0
    for owner, holding in sorted(queries.nft_holdings(exchange.engine).items()):
        try:
            holder = await perk.owner_of(holding.token_id)
        except httpx.HTTPError as exc:
            log.warning("NFT perk re-check: %s did not answer (%s); nothing lapses", perk.chain, exc)
            return lapsed
        if holder != holding.address:
            await exchange.submit(LapseNftVip(owner, holding.address, holding.token_id))
            lapsed += 1
    return lapsed


async def watch(exchange: Clocked, perk: NftPerk, period: float = 60.0) -> None:
    """``recheck`` every ``period`` seconds (``serve --nft-check-every``)."""
    while True:
        await recheck(exchange, perk)
        await asyncio.sleep(period)
