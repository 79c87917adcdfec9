"""Storage: ``Store`` (SQLite or PostgreSQL, migrations, transactions with retries), tables, types.

```python
store = await Store.connect("sqlite:///abs/path.db")
await store.migrate()
result = await store.run(fn)          # fn(conn) in one transaction, retried on conflicts
```
"""

from gamepay.store.database import Dialect, SchemaStatus, Store
from gamepay.store.sql import big_sum
from gamepay.store.types import Amount, UTCDateTime

__all__ = ["Amount", "Dialect", "SchemaStatus", "Store", "UTCDateTime", "big_sum"]
