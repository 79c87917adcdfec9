"""gamepay: a token economy for game servers on KryptoGO Studio's Payment Intents API.

Importing it loads no server: the KryptoGO emulator is ``gamepay.sandbox``, reached through
``gamepay.testing`` (and the CLI). ``gamepay.Economy``, the one entry point that wires a whole
economy (it serves callbacks and websockets), loads on first use.
"""

from typing import TYPE_CHECKING

from gamepay import errors
from gamepay.bus import EventBus, InProcessBus, PostgresBus
from gamepay.core.accounts import AccountKind, player_account
from gamepay.core.assets import Asset, Currency, Item, Token
from gamepay.core.money import MAX_AMOUNT, check_amount, format_amount, parse_amount
from gamepay.core.transfers import TransferKind, TransferSpec
from gamepay.core.withdrawals import WithdrawalStatus
from gamepay.errors import GamepayError
from gamepay.kryptogo.client import KryptoGOClient
from gamepay.kryptogo.models import FiatCurrency, PaymentIntent, PaymentStatus
from gamepay.kryptogo.retry import RetryPolicy
from gamepay.kryptogo.transfers import TransferRequest, TransferResult
from gamepay.ledger import Balance, Ledger
from gamepay.payments import (
    BalancePrice,
    Catalog,
    CatalogItem,
    Grant,
    PaymentInstructions,
    Payments,
    PaymentsConfig,
)
from gamepay.rewards import Program, RewardRunner, RunReport, Schedule, Tier, load_program
from gamepay.store import Store
from gamepay.withdrawals import Withdrawal, Withdrawals, WithdrawalsConfig

if TYPE_CHECKING:
    from gamepay.economy import Economy

__all__ = [
    "MAX_AMOUNT",
    "AccountKind",
    "Asset",
    "Balance",
    "BalancePrice",
    "Catalog",
    "CatalogItem",
    "Currency",
    "Economy",
    "EventBus",
    "FiatCurrency",
    "GamepayError",
    "Grant",
    "InProcessBus",
    "Item",
    "KryptoGOClient",
    "Ledger",
    "PaymentInstructions",
    "PaymentIntent",
    "PaymentStatus",
    "Payments",
    "PaymentsConfig",
    "PostgresBus",
    "Program",
    "RetryPolicy",
    "RewardRunner",
    "RunReport",
    "Schedule",
    "Store",
    "Tier",
    "Token",
    "TransferKind",
    "TransferRequest",
    "TransferResult",
    "TransferSpec",
    "Withdrawal",
    "WithdrawalStatus",
    "Withdrawals",
    "WithdrawalsConfig",
    "check_amount",
    "errors",
    "format_amount",
    "load_program",
    "parse_amount",
    "player_account",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """Load ``Economy`` on first use (it brings the HTTP and websocket servers with it)."""
    if name == "Economy":
        from gamepay.economy import Economy

        return Economy
    raise AttributeError(f"module 'gamepay' has no attribute {name!r}")
