"""The operator audit log: one append-only row per operator action (``gp_audit_log``).

```python
from gamepay.audit import Actor, AuditLog, record_audit
```

Below the services (they write their actions' rows in their own transactions), above the
store; ``log`` holds every statement on the table.
"""

from gamepay.audit.log import MAX_DETAILS, Actor, AuditEntry, AuditLog, record_audit, session_hash

__all__ = ["MAX_DETAILS", "Actor", "AuditEntry", "AuditLog", "record_audit", "session_hash"]
