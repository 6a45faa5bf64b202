"""The item fields a cardepass reply may carry, as this project knows them: a table.

Dotted paths of the item fields, per (stream, dialect); a list's elements share the list's
path (``feeItems.feeType``). ``READ_FIELDS``: what the normaliser reads (the mappers of
``transform/dialects.py`` and the fast rows of ``transform/fast_rows.py``;
``tests/cli/test_doctor.py`` records the paths normalize actually reads from the sandbox's
items and checks they are all here). ``IGNORED_FIELDS``: what the published documents
(API.md, the v2.0 document, the v1.4 reference's examples) show and the normaliser leaves
alone on purpose. A field in neither is *unknown*: a run ignores it and ``raw.pages`` keeps
it; ``cardrecon doctor`` lists it. A known path with an object or list value is looked into
only when some known path continues it (``permissions`` is not, ``productInfo`` is).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["IGNORED_FIELDS", "KNOWN_FIELDS", "READ_FIELDS", "unknown_fields"]

_V20, _V14 = "v2.0", "v1.4"


def _fields(*groups: str) -> frozenset[str]:
    return frozenset(name for group in groups for name in group.split())


_MONEY_OBJECTS = "{0} {0}.amount {0}.currency"
_CARD_LOG = _fields(
    "accountLogId cardOrderNo cardAccountLogType cardInfo cardInfo.cardId fundsDirection",
    *(_MONEY_OBJECTS.format(name) for name in ("transAmount", "totalFee", "totalAmount")),
    "feeItems feeItems.feeType feeItems.amount feeItems.amount.amount feeItems.amount.currency",
    "feeItems.currency status failureReason transTime completedTime note",
)
_ACCOUNT_LOG = _fields(
    "id accountTransType fundsDirection currency transAmount availableBalance",
    "blockedBalance orderNo cardInfo cardInfo.cardId transTime note",
)
_ORDER_CARD = "cardId cardModel cardCurrency"
_ORDER = _fields(
    "orderNo customerOrderNo orderType status createdOn completedOn cardId",
    "totalTopUpAmount topUpAmount withdrawAmount refundAmount transAmount",
    "totalFee transFee withdrawFee fee totalPayAmount totalAmount",
    "productInfo productInfo.cardModel productInfo.cardCurrency",
    *(
        " ".join(f"{prefix}.{name}" for name in _ORDER_CARD.split())
        for prefix in ("cardInfo", "cardInfos", "orderLines.cardInfo")
    ),
    "cardInfo cardInfos orderLines orderLines.cardInfo",
)
READ_FIELDS: dict[tuple[str, str], frozenset[str]] = {
    ("transactions", _V20): _fields(
        "transactionId cardId amount currency transactionType status transactionTime",
        "merchantName authCode",
    ),
    ("transactions", _V14): _fields(
        "id authTime settleTime cardInfo cardInfo.cardId cardInfo.cardCurrency status",
        *(_MONEY_OBJECTS.format(name) for name in ("transAmount", "authAmount", "settledAmount")),
        "fundsDirection transactionType merchantName merchantCountryCode authCode failureReason",
    ),
    ("card_account_logs", _V20): _CARD_LOG,
    ("card_account_logs", _V14): _CARD_LOG,
    ("account_logs", _V20): _ACCOUNT_LOG,
    ("account_logs", _V14): _ACCOUNT_LOG,
    ("cards", _V20): _fields(
        "cardId cardModel cardCurrency cardStatus balance maxAuthAmount maxCreditAmount",
        "cardAlias createdOn",
    ),
    ("cards", _V14): _fields(
        "cardId cardModel cardCurrency status balanceAmount usedCreditAmount maxAuthAmount",
        "maxCreditAmount alias productCode applyTime",
    ),
    ("accounts", _V20): _fields("currency availableBalance frozenBalance"),
    ("accounts", _V14): _fields("currency amount"),
    ("orders", _V20): _ORDER,
    ("orders", _V14): _ORDER,
}
_MASKED = "cardInfo.maskedCardNumber"
_ORDER_IGNORED = _fields(
    "modifiedOn note failureReason quantity maxAuthAmount maxCreditAmount openedQty",
    "totalCardCount totalOpened totalCompletedCardCount payMessage paidOn chargeMethodType",
    "settleStatus settleAmount fixedValue percent blockReason unblockReason cancelReason",
    "isBlocked cardAlias maskedCardNumber productInfo.productCode productInfo.productName",
    *(
        f"{prefix}.productCode {prefix}.productName {prefix}.maskCardNumber "
        f"{prefix}.maskedCardNumber {prefix}.maskedCardNo {prefix}.cardNo {prefix}.cardNumber "
        f"{prefix}.cvv {prefix}.expiryDate {prefix}.status {prefix}.cardStatus {prefix}.cardAlias"
        for prefix in ("cardInfo", "cardInfos", "orderLines.cardInfo")
    ),
    "orderLines.orderLineNo orderLines.topUpAmount orderLines.quantity orderLines.isCompleted",
    "orderLines.completedOn orderLines.payMessage orderLines.paidOn orderLines.totalPayAmount",
    "orderLines.feeItems",
    "orderLines.feeItems.feeType orderLines.feeItems.amount orderLines.feeItems.currency",
)
IGNORED_FIELDS: dict[tuple[str, str], frozenset[str]] = {
    ("transactions", _V20): _fields("description"),
    ("transactions", _V14): _fields(
        "cardInfo.maskedCardNumber cardAlias merchantCity merchantState merchantZipCode",
        "merchantDesc failureReasonCn note",
    ),
    ("card_account_logs", _V20): _fields(_MASKED),
    ("card_account_logs", _V14): _fields(_MASKED),
    ("account_logs", _V20): _fields(_MASKED),
    ("account_logs", _V14): _fields(_MASKED),
    ("cards", _V20): frozenset(),
    # cardNumber and cvv are scrubbed before anything reads the reply; known all the same
    ("cards", _V14): _fields("cardNumber cvv expirationMMYY cardOrganization permissions"),
    ("accounts", _V20): _fields("accountBalance"),
    ("accounts", _V14): frozenset(),
    ("orders", _V20): _ORDER_IGNORED,
    ("orders", _V14): _ORDER_IGNORED,
}
KNOWN_FIELDS: dict[tuple[str, str], frozenset[str]] = {
    key: READ_FIELDS[key] | IGNORED_FIELDS[key] for key in READ_FIELDS
}


def unknown_fields(item: Any, known: frozenset[str]) -> list[str]:
    """The dotted paths of ``item`` that ``known`` does not name (not looked into further)."""
    containers = {path.rsplit(".", 1)[0] for path in known if "." in path}
    containers |= {p for path in containers for p in _prefixes(path)}
    found: list[str] = []

    def visit(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}{key}"
            if path not in known:
                if path not in found:
                    found.append(path)
                continue
            if path in containers:
                for child in value if isinstance(value, list) else [value]:
                    if isinstance(child, Mapping):
                        visit(child, f"{path}.")

    if isinstance(item, Mapping):
        visit(item, "")
    return found


def _prefixes(path: str) -> Iterable[str]:
    parts = path.split(".")
    return (".".join(parts[:i]) for i in range(1, len(parts)))
