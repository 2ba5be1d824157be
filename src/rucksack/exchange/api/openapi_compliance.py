"""OpenAPI operations of the compliance routes (user and operator), merged into ``openapi``'s table."""

from __future__ import annotations

from typing import Any

BLOCKCHAIN_NAME = {"type": "string", "description": "Backpack Blockchain enum, e.g. Solana"}
HOURS = {"type": "integer", "minimum": 0, "maximum": 720}
DELAY_BODY = {
    "type": "object",
    "required": ["withdrawalDelayHours", "twoFactorToken"],
    "properties": {"withdrawalDelayHours": HOURS, "twoFactorToken": {"type": "string"}},
}
ADDRESS_BODY = {
    "type": "object",
    "required": ["blockchain", "address"],
    "properties": {"blockchain": BLOCKCHAIN_NAME, "address": {"type": "string"}},
}
USD = {"type": "string", "description": "USD (decimal) or unlimited"}
OPERATOR = [400, 401, 403]


def _q(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": props}


NO_CONTENT = {("GET", "/wapi/v1/capital/withdrawals/delay")}
"""Operations that answer 204 with no body (Backpack: no delay set)."""
EMPTY_OK = {("POST", "/wapi/v1/capital/withdrawals/delay")}
"""Operations that answer 200 with an empty body (Backpack's delay create)."""

COMPLIANCE_OPERATIONS: dict[tuple[str, str], tuple[str, list[Any], dict[str, Any] | None, list[int]]] = {
    ("GET", "/api/v1/compliance/regions"): (
        "Rucksack extension (public): the regions the rules name, their entity and products, and the refused ones",
        [],
        None,
        [],
    ),
    ("GET", "/api/v1/account/compliance"): (
        "Rucksack: region, level, entity, each product open or not and why, limits (accountComplianceQuery)",
        [],
        None,
        [400],
    ),
    ("GET", "/wapi/v1/capital/withdrawals/delay"): ("Withdrawal delay (withdrawalDelayQuery)", [], None, [400]),
    ("POST", "/wapi/v1/capital/withdrawals/delay"): (
        "Create the withdrawal delay (withdrawalDelayCreate); 409 when one exists",
        [],
        DELAY_BODY,
        [400, 409],
    ),
    ("PATCH", "/wapi/v1/capital/withdrawals/delay"): (
        "Change the withdrawal delay (withdrawalDelayUpdate); lowering waits for the current delay",
        [],
        DELAY_BODY,
        [400, 404],
    ),
    ("DELETE", "/wapi/v1/capital/withdrawals"): (
        "Rucksack: cancel a withdrawal in its delay or review (withdrawalCancel)",
        [],
        _obj(["id"], id={"type": "integer"}),
        [400],
    ),
    ("GET", "/wapi/v1/capital/withdrawals/addresses"): (
        "Rucksack: the withdrawal address allow-list (withdrawalAddressQueryAll)",
        [],
        None,
        [400],
    ),
    ("POST", "/wapi/v1/capital/withdrawals/addresses"): (
        "Rucksack: add an address to the allow-list (withdrawalAddressCreate)",
        [],
        ADDRESS_BODY,
        [400],
    ),
    ("DELETE", "/wapi/v1/capital/withdrawals/addresses"): (
        "Rucksack: remove an address from the allow-list (withdrawalAddressDelete)",
        [],
        ADDRESS_BODY,
        [400, 404],
    ),
    ("POST", "/api/v1/operator/keys"): (
        "Operator (admin): register an operator key with roles, or remove it (operatorKeySet)",
        [],
        _obj(["publicKey"], publicKey={"type": "string"}, roles={"type": "array", "items": {"type": "string"}}),
        [*OPERATOR, 404],
    ),
    ("GET", "/api/v1/operator/keys"): (
        "Operator (admin): operator keys and roles (operatorKeyQueryAll)",
        [],
        None,
        OPERATOR,
    ),
    ("POST", "/api/v1/operator/identity"): (
        "Operator (compliance): an account's verification level and/or region (operatorIdentitySet)",
        [],
        _obj(["accountId"], accountId={"type": "integer"}, level={"type": "string"}, region={"type": "string"}),
        OPERATOR,
    ),
    ("GET", "/api/v1/operator/compliance/accounts"): (
        "Operator: identified accounts, or one account's profile (operatorComplianceAccountQuery)",
        [_q("accountId", {"type": "integer"})],
        None,
        [*OPERATOR, 404],
    ),
    ("GET", "/api/v1/operator/compliance/rules"): (
        "Operator: the compliance rules in force (operatorComplianceRulesQuery)",
        [],
        None,
        OPERATOR,
    ),
    ("POST", "/api/v1/operator/compliance/rules"): (
        "Operator (compliance): add or replace a region rule (operatorComplianceRuleSet)",
        [],
        _obj(
            ["name", "entity", "products"],
            name={"type": "string"},
            regions={"type": "array", "items": {"type": "string"}},
            entity={"type": "string"},
            products={"type": "array", "items": {"type": "string"}},
            maxLeverage={"type": "integer"},
            source={"type": "string"},
        ),
        OPERATOR,
    ),
    ("POST", "/api/v1/operator/compliance/refused"): (
        "Operator (compliance): refuse a region outright, or serve it again (operatorComplianceRefusedSet)",
        [],
        _obj(["region", "refused"], region={"type": "string"}, refused={"type": "boolean"}, source={"type": "string"}),
        OPERATOR,
    ),
    ("POST", "/api/v1/operator/compliance/limits"): (
        "Operator (compliance): an entity's daily limits for a level (operatorComplianceLimitsSet)",
        [],
        _obj(
            ["entity", "level", "depositPerDay", "withdrawalPerDay"],
            entity={"type": "string"},
            level={"type": "string"},
            depositPerDay=USD,
            withdrawalPerDay=USD,
        ),
        OPERATOR,
    ),
    ("GET", "/api/v1/operator/withdrawals"): (
        "Operator: withdrawals held in their delay or for review (operatorWithdrawalQueryAll)",
        [],
        None,
        OPERATOR,
    ),
    ("POST", "/api/v1/operator/withdrawals/review"): (
        "Operator (operations): approve or reject a held withdrawal (operatorWithdrawalReview)",
        [],
        _obj(["id", "approve"], id={"type": "integer"}, approve={"type": "boolean"}),
        OPERATOR,
    ),
    ("GET", "/api/v1/operator/audit"): (
        "Operator (compliance): the audit trail, newest first (operatorAuditQuery)",
        [
            _q("operatorKey", {"type": "string"}),
            _q("instruction", {"type": "string"}),
            _q("from", {"type": "integer"}),
            _q("to", {"type": "integer"}),
            _q("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
            _q("offset", {"type": "integer", "minimum": 0}),
        ],
        None,
        OPERATOR,
    ),
    ("GET", "/api/v1/operator/audit/export"): (
        "Operator (compliance): the whole audit trail, SHA-256 chained (operatorAuditExport)",
        [],
        None,
        OPERATOR,
    ),
}
