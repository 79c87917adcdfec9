"""gamepay: a token economy for game servers on KryptoGO Studio's Payment Intents API."""

from gamepay import errors
from gamepay.core.assets import Asset, Currency, Item, Token
from gamepay.core.money import MAX_AMOUNT, check_amount, format_amount, parse_amount
from gamepay.errors import GamepayError
from gamepay.kryptogo.models import FiatCurrency, PaymentIntent, PaymentStatus
from gamepay.sandbox import Faults, Sandbox, SandboxConfig

__all__ = [
    "MAX_AMOUNT",
    "Asset",
    "Currency",
    "Faults",
    "FiatCurrency",
    "GamepayError",
    "Item",
    "PaymentIntent",
    "PaymentStatus",
    "Sandbox",
    "SandboxConfig",
    "Token",
    "check_amount",
    "errors",
    "format_amount",
    "parse_amount",
]

__version__ = "0.1.0"
