"""``PaymentsConfig``: how the payments service behaves; every inferred policy is a setting."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from gamepay.core.accounts import REVENUE
from gamepay.payments.decide import MoneyPolicy, Policy

__all__ = ["PaymentsConfig"]


class PaymentsConfig(BaseModel):
    """How the payments service behaves; every inferred policy is a setting here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    group_key: str = Field(default="gamepay", min_length=1, max_length=200)
    """Every intent is created with this ``group_key``; lookups and reconciliation filter on it."""
    callback_url: str | None = None
    """Where KryptoGO sends status updates (None: rely on polling)."""
    excess_policy: MoneyPolicy = MoneyPolicy.CREDIT
    """Overpayment: credit the difference to the player's token balance, or keep it as revenue."""
    late_policy: MoneyPolicy = MoneyPolicy.CREDIT
    """Payment on an expired intent: credit it to the player's token balance, or keep it."""
    callback_secret: SecretStr | None = None
    """When set, callbacks must be signed (``gamepay.kryptogo.signing``)."""
    callback_window: int = Field(default=300, gt=0)
    """A signed callback's ``timestamp`` may be at most this many seconds from now."""
    revenue_account: str = REVENUE
    """The account purchase prices are paid into."""
    create_attempts: int = Field(default=3, ge=1, le=10)
    """How many times one ``purchase``/``top_up`` call tries to create the intent."""
    create_grace: float = Field(default=30.0, ge=0)
    """A create attempt younger than this (seconds) may still be in flight: never create again
    before it is over (set above the client's timeout)."""
    clock_skew: int = Field(default=3600, ge=0)
    """Seconds our clock and the API's may disagree by; lookups widen their window by it."""
    poll_base: float = Field(default=5.0, gt=0)
    """First poll of a pending order this many seconds after it was created; then doubling."""
    poll_cap: float = Field(default=300.0, gt=0)
    """The longest wait between two polls of one order."""
    poll_batch: int = Field(default=100, ge=1)
    """The most orders one ``poll_due`` call polls."""
    lookup_max_pages: int = Field(default=20, ge=1, le=1000)
    """Pages of 100 the lookup of an unknown create reads at most (the list call is
    undocumented: it may ignore our filters, so the order is matched on ``order_data``)."""
    creating_timeout: float = Field(default=3600.0, gt=0)
    """A ``creating`` order whose intent is still not found after this many seconds: failed."""

    @property
    def policy(self) -> Policy:
        """The settings ``gamepay.payments.decide`` depends on."""
        return Policy(
            revenue=self.revenue_account,
            excess=self.excess_policy,
            late=self.late_policy,
            poll_base=self.poll_base,
            poll_cap=self.poll_cap,
        )

    @property
    def secret(self) -> str | None:
        """The callback signing secret in clear (None: callbacks are not signed)."""
        return None if self.callback_secret is None else self.callback_secret.get_secret_value()
