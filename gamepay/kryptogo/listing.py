"""``IntentListing``: the async iterator ``KryptoGOClient.list_intents`` returns.

It yields intents page after page and says afterwards whether the listing was complete:
``truncated`` is True when it stopped before the server's list ended (``max_pages`` reached,
or the server kept repeating a page, i.e. ignores ``page``). The list call's parameters and
shape are undocumented (see ``docs/kryptogo-client.md``), so a caller that must know whether
an intent is absent (``gamepay.payments.create.lookup_intent``) reads ``truncated``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from gamepay.kryptogo.models import PaymentIntent

__all__ = ["IntentListing"]


class IntentListing(AsyncIterator[PaymentIntent]):
    """Intents of a list call (``async for``), with ``pages`` read and ``truncated``."""

    def __init__(self) -> None:
        self.pages = 0
        """How many pages were requested so far."""
        self.truncated = False
        """True when the iteration stopped before the server's list ended."""
        self._source: AsyncIterator[PaymentIntent] | None = None

    def attach(self, source: AsyncIterator[PaymentIntent]) -> IntentListing:
        """Set the generator that produces the intents (the client does this once)."""
        self._source = source
        return self

    def __aiter__(self) -> IntentListing:
        """The listing is its own iterator."""
        return self

    async def __anext__(self) -> PaymentIntent:
        """The next intent; StopAsyncIteration at the end."""
        if self._source is None:
            raise StopAsyncIteration
        return await self._source.__anext__()
