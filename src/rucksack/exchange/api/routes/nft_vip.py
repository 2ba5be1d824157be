"""The NFT VIP perk's proof (Rucksack extension; docs/api.md "Fee tiers"; exchange.nft_perk).

- ``GET /api/v1/account/nftVip/challenge`` ``?address=0x..`` (``nftVipChallenge``): the text the
  holding address signs, valid for five minutes, and the collection it is about;
- ``POST /api/v1/account/nftVip`` ``{address, tokenId, message, signature}`` (``nftVipProve``): the
  signed challenge; the exchange recovers the signer, asks the chain ``ownerOf(tokenId)`` and
  journals ``GrantNftVip`` for the key's account (its owner's accounts get the level).
"""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request, from_reason
from rucksack.exchange.api.routes.common import uint_param
from rucksack.exchange.core import queries
from rucksack.exchange.core.tiers.events import NftVipGranted, NftVipRejected
from rucksack.exchange.nft_perk import NftPerk, ProofRefused, checksum
from rucksack.exchange.service import ExchangeService


def _perk(service: ExchangeService) -> NftPerk:
    if service.nft_perk is None:
        raise ApiError(404, "RESOURCE_NOT_FOUND", "no NFT collection is designated on this exchange (serve --nft-vip)")
    return service.nft_perk


def _text(params: dict[str, Any], key: str, limit: int) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise bad_request(f"{key} must be a string of at most {limit} characters")
    return value


async def challenge(service: ExchangeService, account: int, params: Any) -> Any:
    perk = _perk(service)
    now_ms = service.clock() // 1000
    try:
        message = perk.challenge(account, _text(params, "address", 64), now_ms)
    except ProofRefused as exc:
        raise bad_request(str(exc)) from exc
    return {"message": message, "collection": perk.collection_id, "expiresAt": now_ms + 300_000}


async def prove(service: ExchangeService, account: int, params: Any) -> Any:
    perk = _perk(service)
    if not isinstance(params, dict):
        raise bad_request("body must be a JSON object")
    if params.get("tokenId") is None:
        raise bad_request("tokenId is required")
    token_id = uint_param(params, "tokenId", 0)  # below 2**63: journaled as a MessagePack integer
    try:
        address = checksum(_text(params, "address", 64))
        command = await perk.prove(
            service, account, address, token_id, _text(params, "message", 1000), _text(params, "signature", 200)
        )
    except ProofRefused as exc:
        raise bad_request(str(exc)) from exc
    for ev in await service.submit(command):
        if isinstance(ev, NftVipRejected):
            raise from_reason(ev.reason)
        if isinstance(ev, NftVipGranted):
            tier = queries.account_or_empty(service.engine, account).tier
            return {
                "accountId": ev.account,
                "address": ev.address,
                "tokenId": str(ev.token_id),
                "nftVipLevel": ev.level,
                "feeTier": queries.fee_tiers(service.engine)[tier].name,
            }
    raise ApiError(500, "SERVER_ERROR", "no NFT VIP event")  # pragma: no cover
