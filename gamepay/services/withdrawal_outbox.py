"""Where withdrawals write their events: the shared ``gp_events`` outbox (switch point).

The outbox belongs to the payments area (``gamepay.services.events``); this module only
re-exports it, so the withdrawals service writes its events in its own transactions to the same
persisted, replayable table as the payments service.
"""

from __future__ import annotations

from gamepay.services.events import EventDraft, publish_quietly, record_events

__all__ = ["EventDraft", "publish_quietly", "record_events"]
