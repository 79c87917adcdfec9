"""A websocket client broke the gamepay_ws protocol (``ProtocolError``)."""

from __future__ import annotations

from gamepay.errors.base import GamepayError

__all__ = [
    "AlreadyAuthenticated",
    "BadJson",
    "MalformedMessage",
    "NotAuthenticated",
    "ProtocolError",
    "RateLimited",
    "TokenRejected",
    "UnknownMessageType",
]


class ProtocolError(GamepayError):
    """A websocket client broke the gamepay_ws protocol; the connection carries on."""

    code = "protocol_error"


class BadJson(ProtocolError):
    """A frame that is not valid UTF-8 JSON."""

    code = "bad_json"


class MalformedMessage(ProtocolError):
    """A message with missing, unexpected or wrongly typed fields."""

    code = "bad_message"


class UnknownMessageType(ProtocolError):
    """A message whose ``type`` the protocol does not define."""

    code = "unknown_type"


class NotAuthenticated(ProtocolError):
    """Anything but ``authenticate`` on a connection that has not authenticated."""

    code = "not_authenticated"


class AlreadyAuthenticated(ProtocolError):
    """A second ``authenticate`` on a connection that already has a player."""

    code = "already_authenticated"


class TokenRejected(ProtocolError):
    """A player token that is malformed, wrongly signed or expired."""

    code = "token_rejected"


class RateLimited(ProtocolError):
    """The connection sent messages faster than its rate limit allows."""

    code = "rate_limited"
