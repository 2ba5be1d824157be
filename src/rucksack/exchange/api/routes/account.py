"""Account, balances, deposits and withdrawals, and the margin account summary (private)."""

from __future__ import annotations

from typing import Any

from rucksack.exchange.api.errors import ApiError, bad_request, from_reason
from rucksack.exchange.api.routes.common import (
    TIME_MS_MAX,
    int_param,
    page_params,
)
from rucksack.exchange.api.routes.positions import account_of
from rucksack.exchange.api.routes.subaccounts import target_account
from rucksack.exchange.api.wire import format_atoms, iso_ms
from rucksack.exchange.core import queries
from rucksack.exchange.service import ExchangeService


async def account(service: ExchangeService, account: int, params: Any) -> Any:
    """Settings and limits of the key's account (or ``subaccountId``'s).

    ``leverageLimit`` is the account's own limit, else the platform maximum; ``positionLimit`` is the
    futures notional the account could carry at that leverage with its current net equity (the
    engine refuses an order that would raise its futures exposure above it, ``POSITION_LIMIT``);
    ``borrowLimit`` is the USDC a new borrow could take now (``risk.limits.max_borrow``).
    """
    account = target_account(service, account, params)
    engine = service.engine
    acct = account_of(service, account)
    tier = service.spec.fee_tiers[acct.tier]
    settle = service.wire.assets[service.spec.settlement_asset]
    leverage = acct.leverage_limit or service.spec.risk.max_leverage
    held = queries.account(engine, account) is not None
    equity = queries.margin(engine, acct).equity if held else 0
    borrow = queries.max_borrow(engine, acct, queries.settle_asset(engine)) if held else 0
    return {
        "autoBorrowSettlements": acct.auto_borrow_settlements,
        "autoLend": acct.auto_lend,
        "autoRealizePnl": acct.auto_realize_pnl,
        "autoRepayBorrows": acct.auto_repay_borrows,
        "borrowLimit": format_atoms(borrow, settle.decimals),
        "futuresMakerFee": format_atoms(tier.futures_maker_ppm, 2),
        "futuresTakerFee": format_atoms(tier.futures_taker_ppm, 2),
        "leverageLimit": str(leverage),
        "limitOrders": len(service.open_orders(account)),
        "liquidating": acct.liquidating,
        "positionLimit": format_atoms(queries.position_limit(engine, acct, equity), settle.decimals),
        "spotMakerFee": format_atoms(tier.spot_maker_ppm, 2),
        "spotTakerFee": format_atoms(tier.spot_taker_ppm, 2),
        "triggerOrders": len(queries.pending_triggers(engine, account)),
        **fee_tier_fields(service, account),
    }


DAY_US = 86_400_000_000


def fee_tier_fields(service: ExchangeService, account: int) -> dict[str, Any]:
    """Rucksack extension fields of ``GET /api/v1/account`` (docs/api.md, "Fee tiers"): the tier
    in force and the levels behind it, the owner's 30-day volume up to today (what the next UTC
    day boundary counts) and what the next tier needs (``null`` at the top tier)."""
    today = max(service.clock(), queries.last_ts_us(service.engine)) // DAY_US  # a gateway: the stream's time
    st = queries.fee_tier_status(service.engine, account, today)
    tiers = queries.fee_tiers(service.engine)
    decimals = service.wire.assets[service.spec.settlement_asset].decimals
    nxt: dict[str, Any] | None = None
    if st.volume_tier + 1 < len(tiers):
        t = tiers[st.volume_tier + 1]
        nxt = {
            "feeTier": t.name,
            "feeTierIndex": st.volume_tier + 1,
            "spotVolume": format_atoms(t.spot_volume, decimals) if t.spot_volume else None,
            "futuresVolume": format_atoms(t.futures_volume, decimals) if t.futures_volume else None,
            "spotVolumeNeeded": format_atoms(max(0, t.spot_volume - st.spot_volume), decimals)
            if t.spot_volume
            else None,
            "futuresVolumeNeeded": format_atoms(max(0, t.futures_volume - st.futures_volume), decimals)
            if t.futures_volume
            else None,
        }
    holding = st.nft_holding
    return {
        "feeTier": tiers[st.tier].name,
        "feeTierIndex": st.tier,
        "volumeTier": st.volume_tier,
        "vipLevel": st.vip,
        "nftVipLevel": st.nft,
        "nftVip": {"address": holding.address, "tokenId": str(holding.token_id)} if holding else None,
        "spotVolume30d": format_atoms(st.spot_volume, decimals),
        "futuresVolume30d": format_atoms(st.futures_volume, decimals),
        "nextFeeTier": nxt,
        "feeTierRecomputedAt": st.recomputed_day * (DAY_US // 1000) if st.recomputed_day >= 0 else None,
    }


SETTINGS = {
    "autoBorrowSettlements": "auto_borrow_settlements",
    "autoLend": "auto_lend",
    "autoRealizePnl": "auto_realize_pnl",
    "autoRepayBorrows": "auto_repay_borrows",
}


async def account_update(service: ExchangeService, account: int, params: Any) -> Any:
    """PATCH /api/v1/account (``accountUpdate``): only the settings given change; 200 with an empty body."""
    from rucksack.exchange.core.commands import UpdateAccount
    from rucksack.exchange.core.events import AccountRejected
    from rucksack.exchange.core.numeric import DecimalError, parse_decimal

    account = target_account(service, account, params)
    changes: dict[str, Any] = {}
    for key, field in SETTINGS.items():
        flag = _flag(params, key)
        if flag is not None:
            changes[field] = flag
    lev = params.get("leverageLimit")
    if lev is not None:
        if isinstance(lev, bool) or not isinstance(lev, str) or len(lev) > 20:
            raise bad_request("leverageLimit must be a decimal string")
        try:
            units = parse_decimal(lev, 6)
        except DecimalError as exc:
            raise bad_request(f"leverageLimit: {exc}") from exc
        max_lev = service.spec.risk.max_leverage
        if units % 1_000_000 or not 1 <= units // 1_000_000 <= max_lev:
            raise bad_request(f"leverageLimit must be a whole number from 1 to {max_lev}")
        changes["leverage_limit"] = units // 1_000_000
    events = await service.submit(UpdateAccount(account, **changes))
    for ev in events:
        if isinstance(ev, AccountRejected):
            raise from_reason(ev.reason)
    return None


async def capital(service: ExchangeService, account: int, params: Any) -> Any:
    """Balances by asset. With ``autoLend`` on (the default), idle funds sit in the lending pool and
    an order or withdrawal redeems them as needed, so ``available`` counts the lend claim too (as
    Backpack's does: ccxt's ``fetch_balance`` shows the lent balance); ``locked`` is what open
    orders hold. The lend itself is in ``GET /api/v1/borrowLend/positions``."""
    account = target_account(service, account, params)
    acct = queries.account(service.engine, account)
    out: dict[str, Any] = {}
    if acct is None:
        return out
    pools = queries.pools(service.engine)
    for asset, bal, pool in zip(service.spec.assets, acct.assets, pools, strict=True):
        lent = pool.claim(bal.lend_shares) if pool is not None and acct.auto_lend else 0
        if bal.available or bal.locked or lent:
            out[asset.symbol] = {
                "available": format_atoms(bal.available + lent, asset.decimals),
                "locked": format_atoms(bal.locked, asset.decimals),
                "staked": "0",
            }
    return out


async def deposits(service: ExchangeService, account: int, params: Any) -> Any:
    limit, offset, _ = page_params(params)
    from_ms = int_param(params, "from", -1, hi=TIME_MS_MAX)
    to_ms = int_param(params, "to", int_param(params, "endTime", -1, hi=TIME_MS_MAX), hi=TIME_MS_MAX)
    rows = await service.store.capital(
        account,
        "deposit",
        from_us=from_ms * 1000 if from_ms >= 0 else None,
        to_us=to_ms * 1000 if to_ms >= 0 else None,
        limit=limit,
        offset=offset,
    )
    out = []
    custody = service.custody  # chain data, when custody runs
    for r in rows:
        asset = service.wire.assets[r["asset"]]
        sandbox = r["ref"].startswith("sandbox:")
        chain = custody.db.deposit(r["ref"]) if custody is not None else None  # a credited chain transfer
        internal = sandbox or r["ref"].startswith(("withdrawal-refund:", "cancelled:"))
        out.append(
            {
                "id": r["id"],
                "toAddress": chain["to_address"] if chain else None,
                "fromAddress": chain["from_address"] if chain else None,
                "source": chain["chain"] if chain else "administrator" if sandbox else "internal",
                "status": "confirmed",
                "transactionHash": chain["tx_hash"] if chain else None if internal else r["ref"],
                "symbol": r["asset"],
                "quantity": format_atoms(r["amount"], asset.decimals),
                "createdAt": iso_ms(r["ts_us"]),
                "fiatAmount": None,
                "fiatCurrency": None,
                "institutionBic": None,
                "platformMemo": None,
            }
        )
    return out


async def withdrawals(service: ExchangeService, account: int, params: Any) -> Any:
    limit, offset, _ = page_params(params)
    rows = await service.store.capital(account, "withdrawal", limit=limit, offset=offset)
    out = []
    custody = service.custody  # chain data, when custody runs
    for r in rows:
        asset = service.wire.assets[r["asset"]]
        wid = r["ref"].removeprefix("withdrawal:")
        row = custody.db.withdrawal(int(wid)) if custody is not None and wid != r["ref"] and wid.isdigit() else None
        if row is not None:
            out.append(chain_withdrawal(service, row))
            continue
        out.append(
            {
                "id": r["id"],
                "blockchain": None,
                "clientId": None,
                "identifier": r["ref"] or None,
                "quantity": format_atoms(r["amount"], asset.decimals),
                "fee": "0",
                "fiatFee": None,
                "fiatState": None,
                "fiatSymbol": None,
                "providerId": None,
                "symbol": r["asset"],
                "status": "confirmed",
                "subaccountId": None,
                "toAddress": None,
                "transactionHash": None,
                "createdAt": iso_ms(r["ts_us"]),
                "isInternal": True,
                "bankName": None,
                "bankIdentifier": None,
                "accountIdentifier": None,
                "triggerAt": None,
            }
        )
    return out


def _flag(params: Any, key: str) -> bool | None:
    value = params.get(key)
    if value is None:
        return None
    if value in ("true", "True", True):
        return True
    if value in ("false", "False", False):
        return False
    raise bad_request(f"{key} must be true or false")


async def max_order_quantity(service: ExchangeService, account: int, params: Any) -> Any:
    """The largest order the engine would accept now (``risk.limits``): perps by the margin rule at
    ``price`` (else the mark), a reduce-only order by the position; spot by the balance at ``price``
    (else the best opposite price, else the last trade), checked against margin when the account has
    exposure."""
    account = target_account(service, account, params)
    mw = service.wire.market(params.get("symbol"))
    side = params.get("side")
    if side not in ("Bid", "Ask"):
        raise bad_request("side must be Bid or Ask")
    flags = {k: _flag(params, k) for k in ("reduceOnly", "autoBorrow", "autoBorrowRepay", "autoLendRedeem")}
    m = queries.market(service.engine, mw.symbol)
    price = mw.parse_price(params["price"]) if params.get("price") is not None else 0
    acct = queries.account(service.engine, account)
    is_buy = side == "Bid"
    if acct is None:
        lots = 0
    elif m.is_perp:
        pos = acct.positions.get(m.index)
        reducing = abs(pos.lots) if pos is not None and pos.lots and (pos.lots < 0) == is_buy else 0
        if flags["reduceOnly"]:
            lots = reducing
        else:
            lots = queries.max_order_lots(service.engine, acct, m, is_buy=is_buy, price=price)
    else:
        if flags["reduceOnly"]:
            raise ApiError(400, "INVALID_ORDER", "reduceOnly applies to futures markets only")
        redeem = bool(flags["autoLendRedeem"])
        lots = queries.max_order_lots(service.engine, acct, m, is_buy=is_buy, price=price, may_redeem=redeem)
    if mw.spec.max_lots:
        lots = min(lots, mw.spec.max_lots)
    out: dict[str, Any] = {
        "maxOrderQuantity": mw.qty(lots),
        "side": side,
        "symbol": mw.symbol,
        "price": mw.price(price) if price else None,
    }
    out.update({k: v for k, v in flags.items() if v is not None})
    return out


async def max_withdrawal_quantity(service: ExchangeService, account: int, params: Any) -> Any:
    """The available balance that margin lets leave, plus with ``autoLend`` on what redeeming the
    lend would free, as the withdrawal itself redeems (``risk.limits.max_withdrawal``)."""
    account = target_account(service, account, params)
    asset = service.wire.asset(params.get("symbol"))
    flags = {k: _flag(params, k) for k in ("autoBorrow", "autoLendRedeem")}
    acct = queries.account(service.engine, account)
    index = queries.asset_index(service.engine, asset.symbol)
    atoms = queries.max_withdrawal(service.engine, acct, index) if acct is not None else 0
    out: dict[str, Any] = {"maxWithdrawalQuantity": format_atoms(atoms, asset.decimals), "symbol": asset.symbol}
    out.update({k: v for k, v in flags.items() if v is not None})
    return out


async def max_borrow_quantity(service: ExchangeService, account: int, params: Any) -> Any:
    """What a new borrow may take now: margin (the debt's IM) and the pool (``risk.limits.max_borrow``)."""
    account = target_account(service, account, params)
    asset = service.wire.asset(params.get("symbol"))
    acct = queries.account(service.engine, account)
    index = queries.asset_index(service.engine, asset.symbol)
    atoms = queries.max_borrow(service.engine, acct, index) if acct is not None else 0
    return {"maxBorrowQuantity": format_atoms(atoms, asset.decimals), "symbol": asset.symbol}


# -- chain custody: deposit addresses and withdrawals (rucksack.exchange.custody, docs/chains.md) ----


def _chain_param(params: Any) -> Any:
    from rucksack.exchange.custody.keys import CHAIN_OF, chain_for_blockchain

    chain = chain_for_blockchain(str(params.get("blockchain") or ""))
    if chain is None:
        raise bad_request(f"blockchain must be one of {', '.join(sorted(CHAIN_OF))}")
    return chain


async def _require_custody(service: ExchangeService) -> Any:
    custody = await service.ensure_custody()
    if custody is None:
        raise ApiError(503, "SERVICE_UNAVAILABLE", "Custody is not configured on this server")
    return custody


async def deposit_address(service: ExchangeService, account: int, params: Any) -> Any:
    """The account's deposit address on ``blockchain`` (deterministic in the account id)."""
    chain = _chain_param(params)
    return {"address": (await _require_custody(service)).deposit_address(chain, account)}


def chain_withdrawal(service: ExchangeService, w: dict[str, Any]) -> dict[str, Any]:
    from rucksack.exchange.custody.db import WIRE_STATUS
    from rucksack.exchange.custody.keys import BLOCKCHAIN_OF

    asset = service.wire.assets[w["asset"]]
    never_sent = w["status"] == "refunded" and (w["error"] or "").startswith(("broadcast refused", "cannot build"))
    return {
        "id": w["id"],
        "blockchain": BLOCKCHAIN_OF[w["chain"]],
        "clientId": w["client_id"],
        "identifier": f"withdrawal:{w['id']}",
        "quantity": format_atoms(w["atoms"], asset.decimals),
        "fee": "0",
        "fiatFee": None,
        "fiatState": None,
        "fiatSymbol": None,
        "providerId": None,
        "symbol": w["asset"],
        "status": WIRE_STATUS[w["status"]],
        "subaccountId": None,
        "toAddress": w["to_address"],
        "transactionHash": None if never_sent else w["tx_hash"],
        "createdAt": iso_ms(w["created_us"]),
        "isInternal": False,
        "bankName": None,
        "bankIdentifier": None,
        "accountIdentifier": None,
        "triggerAt": iso_ms(w["trigger_us"]) if w.get("trigger_us") and w["status"] == "delayed" else None,
        # Rucksack extension: why the exchange gave the funds back (null unless refunded)
        "refundReason": w["error"] if w["status"] == "refunded" else None,
    }


def _recipient(params: Any) -> str:
    """Backpack's ``recipientInformation`` (Travel Rule beneficiary details) as canonical JSON
    text, "" when absent. An object (``withdrawal_address_id``, ``withdrawal_purpose``,
    ``sanctions_representation``; Rucksack also reads ``beneficiaryName``, ``beneficiaryVasp``,
    ``walletType``, and the web form adds ``originatorName``, ``originatorAddress``) or a string
    (what the sdk and the web page send)."""
    import json

    info = params.get("recipientInformation")
    if info is None or info == "":
        return ""
    if isinstance(info, str):
        try:
            info = json.loads(info)
        except ValueError:
            info = {"beneficiaryName": info}
    if not isinstance(info, dict) or not info:
        raise bad_request("recipientInformation must be an object")
    text = json.dumps(info, sort_keys=True, separators=(",", ":"))
    if len(text) > 2000:
        raise bad_request("recipientInformation is at most 2000 characters")
    return text


async def withdraw(service: ExchangeService, account: int, params: Any) -> Any:
    """Backpack's ``withdraw``: validate, hold the funds (journaled ``Withdraw``), queue the broadcast."""
    from rucksack.chains.addresses import InvalidAddress, validate_address
    from rucksack.chains.units import NotRepresentable, withdrawal_units
    from rucksack.exchange.api.wire import parse_amount
    from rucksack.exchange.core.commands import Withdraw
    from rucksack.exchange.core.compliance.events import WithdrawalHeld
    from rucksack.exchange.core.events import WithdrawalRejected
    from rucksack.exchange.custody.keys import BLOCKCHAIN_OF

    custody = await _require_custody(service)
    for key in ("address", "blockchain", "quantity", "symbol"):
        if params.get(key) in (None, ""):
            raise bad_request(f"{key} is required")
    chain = _chain_param(params)
    if not custody.enabled(chain):
        raise ApiError(400, "INVALID_CLIENT_REQUEST", f"Withdrawals on {params['blockchain']} are not enabled")
    symbol = str(params["symbol"])
    if symbol == chain.native_symbol:
        chain_dec, exch_dec = chain.native_decimals, chain.native_exchange_decimals
    elif symbol == chain.token.symbol:
        chain_dec, exch_dec = chain.token.decimals, chain.token.exchange_decimals
    else:
        raise ApiError(400, "INVALID_ASSET", f"{symbol} cannot be withdrawn on {params['blockchain']}")
    asset = service.wire.assets.get(symbol)
    if asset is None:
        raise ApiError(400, "INVALID_ASSET", "Invalid asset")
    try:
        address = validate_address(chain, str(params["address"]))
    except InvalidAddress as exc:
        raise bad_request(f"Invalid {params['blockchain']} address: {exc}") from None
    client_id = params.get("clientId")
    if client_id is not None and len(str(client_id)) > 255:
        raise bad_request("clientId is at most 255 characters")
    atoms = parse_amount(params["quantity"], asset)
    minimum = custody.limits.minimum_atoms(symbol, asset.decimals)
    if atoms < minimum:
        least = custody.limits.minimum(symbol)
        raise ApiError(400, "INVALID_QUANTITY", f"Quantity is below the minimum withdrawal of {least} {symbol}")
    try:
        units = withdrawal_units(atoms, chain_dec, exch_dec)
    except NotRepresentable as exc:
        raise ApiError(400, "INVALID_QUANTITY", str(exc)) from None
    wid = custody.db.new_withdrawal(
        account,
        chain.key,
        symbol,
        atoms,
        units,
        address,
        None if client_id is None else str(client_id),
        service.clock(),
    )
    recipient = _recipient(params)
    custody.db.update_withdrawal(wid, recipient=recipient or None)
    target = f"{BLOCKCHAIN_OF[chain.key]}:{address}"  # the allow-list's key (core/compliance)
    events = await service.submit(Withdraw(account, symbol, atoms, f"withdrawal:{wid}", target, recipient))
    held = None
    for ev in events:
        if isinstance(ev, WithdrawalRejected):
            custody.db.update_withdrawal(wid, status="declined", error=ev.reason)
            raise from_reason(ev.reason)
        if isinstance(ev, WithdrawalHeld):
            held = ev
    if held is not None:  # in its security delay and/or waiting for review: custody waits for the release
        custody.db.update_withdrawal(wid, status="delayed", trigger_us=held.trigger_at_us)
        return chain_withdrawal(service, custody.db.withdrawal(wid))
    custody.db.update_withdrawal(wid, status="pending")
    custody.wake()
    return chain_withdrawal(service, custody.db.withdrawal(wid))
