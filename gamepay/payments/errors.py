"""The payments' catalog-rule errors, branches of the one tree drawn in ``gamepay.errors``.

Their messages are written for the player (the websocket adapter shows them as they are).
"""

from __future__ import annotations

from gamepay.errors import PaymentError

__all__ = ["OfferUnavailable", "PurchaseLimitReached"]


class OfferUnavailable(PaymentError):
    """The item is outside its offer window (``available_from`` / ``available_until``)."""

    code = "offer_unavailable"


class PurchaseLimitReached(PaymentError):
    """The player's orders of the item, paid or still payable, are at its ``max_per_player``."""

    code = "purchase_limit_reached"
