"""The customer's fixed reference data: products, currencies, merchants, decline reasons."""

from __future__ import annotations

PRODUCTS = (
    {
        "productCode": "DGG0C4JD",
        "productName": "通用卡",
        "cardModels": ["ShareBalance", "Standard"],
        "cardCurrency": ["USD", "EUR"],
        "description": "通用卡-测试使用",
    },
    {
        "productCode": "0BN03HNK",
        "productName": "通用测试2卡",
        "cardModels": ["Standard"],
        "cardCurrency": ["USD"],
        "description": "通用测试2卡",
    },
)
CURRENCIES = ("USD", "EUR")  # the first is the account's primary currency (v2.0 shows only it)
TENANT = "C1000"

MERCHANTS = (
    ("Amazon.com", "US", "Seattle", "WA", "98109"),
    ("Google Ads", "US", "Mountain View", "CA", "94043"),
    ("Facebook Ads", "IE", "Dublin", "", "D02"),
    ("AWS", "US", "Seattle", "WA", "98109"),
    ("Shopify", "CA", "Ottawa", "ON", "K2P"),
    ("Uber", "US", "San Francisco", "CA", "94103"),
    ("Airbnb", "US", "San Francisco", "CA", "94103"),
    ("Booking.com", "NL", "Amsterdam", "", "1017"),
    ("Zalando", "DE", "Berlin", "", "10243"),
    ("Spotify", "SE", "Stockholm", "", "11153"),
    ("Netflix", "US", "Los Gatos", "CA", "95032"),
    ("Microsoft Azure", "US", "Redmond", "WA", "98052"),
    ("TikTok Ads", "SG", "Singapore", "", "048583"),
    ("Alibaba Cloud", "SG", "Singapore", "", "068811"),
    ("Lufthansa", "DE", "Cologne", "", "50679"),
    ("Apple.com", "US", "Cupertino", "CA", "95014"),
)
FAILURE_REASONS = (
    ("Insufficient balance", "余额不足"),
    ("Exceeds single transaction limit", "超出单笔限额"),
    ("Invalid CVV", "CVV错误"),
    ("Card blocked", "卡已冻结"),
)
ORGANIZATIONS = ("Mastercard", "VISA")
