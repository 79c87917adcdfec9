"""The payments' catalog-rule errors, branches of the one tree drawn in ``gamepay.errors``.

Their messages are written for the player (the websocket adapter shows them as they are).
"""

from __future__ import annotations

from gamepay.errors import PaymentError

__all__ = ["OfferUnavailable"]


class OfferUnavailable(PaymentError):
    """The item is outside its offer window (``available_from`` / ``available_until``)."""

    code = "offer_unavailable"

