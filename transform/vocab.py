"""The canonical vocabularies: the values an enum column of ``core`` may hold.

Each tuple is the one list its column is checked against (``transform.schemas``) and the
SQL reads (``transform.load``). ``CARD_LOG_TYPES`` is also the list of the funding order
types: the card-log types are exactly the orders that move money onto or off a Standard
card (opening, top-up, withdrawal, cancellation), so an account log of one of these types
refers to an order. The values are the canonical spellings; what either dialect sends is
mapped onto them in ``transform.dialects``.
"""

from __future__ import annotations

__all__ = [
    "ACCOUNT_TRANS_TYPES_EXAMPLES",
    "CARD_LOG_STATUSES",
    "CARD_LOG_TYPES",
    "CARD_MODELS",
    "CARD_STATUSES",
    "CURRENCIES",
    "DIALECTS",
    "DIRECTIONS",
    "ORDER_STATUSES",
    "ORDER_TYPES",
    "TXN_STATUSES",
    "TXN_TYPES",
]

DIALECTS = ("v2.0", "v1.4")
DIRECTIONS = ("Income", "Expenditure")
TXN_STATUSES = ("authorized", "settled", "failed")
TXN_TYPES = (
    "Consume",
    "ConsumeRefund",
    "ConsumeReversal",
    "ConsumeRefundReversal",
    "ConsumeDispute",
    "DisputeRelease",
    "AuthQuery",
    "TransFee",
    "TopUp",
)
# The card-log types, which are the funding order types (module docstring).
CARD_LOG_TYPES = ("ApplyCard", "CardTopUp", "CardWithdraw", "CardCancel")
CARD_LOG_STATUSES = ("Pending", "Completed", "Failure")
CARD_MODELS = ("Standard", "ShareBalance")
CARD_STATUSES = ("Active", "Blocked", "Cancelled", "Expired")
ORDER_TYPES = (
    "ApplyCard",
    "CardTopUp",
    "CreditLimit",
    "CardWithdraw",
    "CardCancel",
    "CardBlock",
    "CardUnblock",
)
ORDER_STATUSES = ("Pending", "Processing", "Completed", "Failed")
# The account-log types are open-ended (any non-empty string loads); these are the known.
ACCOUNT_TRANS_TYPES_EXAMPLES = (
    "AccountTopUp",
    "AccountWithdraw",
    "AccountFee",
    *CARD_LOG_TYPES,
    "AuthHold",
    "AuthRelease",
    "Consume",
    "ConsumeRefund",
    "ConsumeReversal",
    "TransFee",
)
# ISO 4217 active currency codes (funds codes included; precious metals, SDR, bond
# units, test and "no currency" codes left out).
CURRENCIES = frozenset(  # one string: 170 codes, one per line, would hide the list
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL
    BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF
    DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF
    IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR
    LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO
    NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH
    UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    ZWL
    """.split()  # noqa: SIM905
)
