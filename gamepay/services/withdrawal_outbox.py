"""Where withdrawals write their events: the shared ``gp_events`` outbox.

The outbox belongs to the payments area (``gamepay.services.events``); withdrawals write their
rows with the same ``record_events`` inside their own transactions and hand the committed events
to the publisher with ``publish_quietly``. This module is the one place the withdrawals service
imports them from.
"""

from __future__ import annotations

from gamepay.services.events import EventDraft, publish_quietly, record_events

__all__ = ["EventDraft", "publish_quietly", "record_events"]
