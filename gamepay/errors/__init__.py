"""Every exception gamepay raises, in one tree (each branch in its own module, all exported here).

Catch ``GamepayError`` for everything, or a branch for one concern. Each class has a stable
``code`` (used in websocket error replies and CLI JSON output) and a human message.
Library exceptions from below (SQLAlchemy, httpx, asyncpg) are translated once, at the boundary
that meets them, with ``raise ... from exc``.

Each top-level branch has a module of its own, named for what it holds: ``base``
(``GamepayError``), ``inputs``, ``ledger``, ``store``, ``kryptogo``, ``payments`` (withdrawals
too), ``rewards``, ``servers`` (``SandboxError``, ``PortInUse``) and ``protocol``. Import from
``gamepay.errors``: it exports the whole tree.

```
GamepayError
├── InvalidInput                      bad input from a caller: nothing was changed
│   ├── AmountError
│   │   ├── AmountTypeError           not an int (float, bool, str where an int is due)
│   │   ├── AmountFormatError         not a plain decimal string (sign, exponent, NaN, spaces)
│   │   ├── AmountPrecisionError      more decimal places than the asset has
│   │   └── AmountRangeError          not 0 < amount < 2**256
│   │       └── AmountTooSmall        below the service's minimum (fiat_amount 0.01)
│   ├── AssetError                    malformed or unknown asset definition
│   │   └── NotTradable               (gamepay.inventory.errors) a token in a trade offer
│   ├── AccountError                  malformed account id, or properties a player may not have
│   ├── AddressError                  not a valid address for the chain
│   ├── ExportError                   (gamepay.withdrawals.export) an unreadable transfer export
│   │   └── ExportTooLarge            (gamepay.withdrawals.decision_errors) above the upload cap
│   ├── SelfTrade                     (gamepay.inventory.errors) a trade offer to oneself
│   └── ConfigError                   missing or malformed configuration
│       ├── CatalogError              a catalog that cannot be used (``problems``: one line each)
│       ├── RewardsFileError          a bad rewards file (in gamepay.rewards.programs_file)
│       └── UnsafeSettings            settings unsafe to serve players with (in gamepay.config)
├── LedgerError
│   ├── AccountNotFound
│   ├── AssetNotFound
│   ├── AccountMismatch               account exists with different properties
│   ├── InsufficientFunds             a non-negative account would go below zero
│   │   └── InsufficientAsset         (gamepay.inventory.errors) names asset and shortfall
│   ├── IdempotencyConflict           an id replayed with different content
│   │   ├── OperationConflict         (gamepay.inventory.errors) key reused for another body
│   │   └── TradeConflict             (gamepay.inventory.errors) offer key reused, other offer
│   ├── HoldNotFound
│   ├── HoldStateError                hold already posted or voided, or post above the hold
│   └── LedgerCorrupt                 verify() found a stored balance that does not match
├── StoreError
│   ├── MigrationError
│   │   └── SchemaNotCurrent          the schema is not at this gamepay's revision (upgrade it)
│   └── ConcurrencyError              serialization/deadlock retries exhausted
├── KryptoGOError                     talking to KryptoGO Studio
│   ├── APIError                      the API answered with an error (status, code, body)
│   │   ├── AuthenticationError       4001 invalid client id, 4002 invalid API key, 401/403
│   │   ├── NotFoundError             4006 invalid payment_intent_id, 404
│   │   ├── InvalidRequestError       400/422 and other request errors
│   │   ├── RateLimitError            429
│   │   ├── ServerError               5xx
│   │   ├── TreasuryInsufficient      4015: the treasury cannot cover a transfer (nothing moved)
│   │   └── MalformedResponseError    a 2xx answer that is not the documented envelope/shape
│   ├── TransportError                no usable answer (connection refused, reset)
│   │   └── RequestTimeout            no answer in time
│   └── OutcomeUnknownError           a money-moving call may or may not have happened
├── PaymentError
│   ├── UnknownSku
│   ├── OrderNotFound
│   ├── IllegalTransition             a status change the intent state machine refuses
│   │   ├── AlreadySettled            (gamepay.withdrawals.decision_errors) sent or failed already
│   │   └── NotAwaitingDecision       (gamepay.withdrawals.decision_errors) not unknown/stuck
│   ├── CallbackRejected              malformed, unsigned or replayed callback
│   ├── BalancePriceMissing           the item cannot be bought with a balance
│   ├── OfferUnavailable              (gamepay.payments.errors) outside the offer window
│   ├── PurchaseLimitReached          (gamepay.payments.errors) at the item's max_per_player
│   ├── NotASubscription              (gamepay.payments.subscriptions) renewal of a plain item
│   └── WithdrawalError
│       ├── BelowMinimum
│       ├── LimitExceeded
│       ├── WithdrawalNotFound
│       ├── WithdrawalConflict    a request id replayed with different content
│       │   └── TransferClaimed   (gamepay.withdrawals.decision_errors) settles another one
│       └── WithdrawalsUnavailable temporarily (the treasury is short): nothing moved
├── RewardError
│   ├── PoolUnderfunded
│   ├── PeriodNotClosed
│   └── RunNotFound                   (gamepay.rewards.overview) no reward run with that id
├── TradeError                        (gamepay.inventory.errors) a trade request refused
│   ├── TradeNotFound
│   ├── TradeForbidden                not the trade's recipient (accept, decline) / proposer
│   └── TradeClosed                   the trade is no longer open (``status``)
│       └── TradeExpired              it passed ``expires_at``: expired now, nothing else done
├── SandboxError                      the local KryptoGO emulator refused an operation
│   └── BalanceNotEnough              (gamepay.sandbox.emulator) its treasury is short: 4015
├── PortInUse                         a server cannot listen: the address is already taken
└── ProtocolError                     a websocket client broke the protocol (gamepay_ws)
    ├── BadJson                       a frame that is not UTF-8 JSON
    ├── MalformedMessage              wrong or missing fields, wrong field types
    ├── UnknownMessageType            a ``type`` the protocol does not have
    ├── NotAuthenticated              anything but authenticate before authenticating
    ├── AlreadyAuthenticated          a second authenticate on one connection
    ├── TokenRejected                 a player token that is malformed, forged or expired
    └── RateLimited                   the connection sent faster than its rate limit
```
"""

from __future__ import annotations

from gamepay.errors import (
    base,
    inputs,
    kryptogo,
    ledger,
    payments,
    protocol,
    rewards,
    servers,
    store,
)
from gamepay.errors.base import *  # noqa: F403
from gamepay.errors.inputs import *  # noqa: F403
from gamepay.errors.kryptogo import *  # noqa: F403
from gamepay.errors.ledger import *  # noqa: F403
from gamepay.errors.payments import *  # noqa: F403
from gamepay.errors.protocol import *  # noqa: F403
from gamepay.errors.rewards import *  # noqa: F403
from gamepay.errors.servers import *  # noqa: F403
from gamepay.errors.store import *  # noqa: F403

__all__ = sorted(
    [
        *base.__all__,
        *inputs.__all__,
        *ledger.__all__,
        *store.__all__,
        *kryptogo.__all__,
        *payments.__all__,
        *rewards.__all__,
        *servers.__all__,
        *protocol.__all__,
    ]
)
