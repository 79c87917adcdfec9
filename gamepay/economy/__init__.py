"""``gamepay.Economy``: the one public entry point that wires a whole economy, bus given once.

``economy`` holds ``Economy`` (building from settings or parts, running, serving); ``parts``
builds what it runs (the services and the adapter on ONE bus) and reads ``Settings`` into a
catalog and withdrawal limits.
"""

from gamepay.economy.economy import WEBSOCKET_PATH, Economy
from gamepay.economy.parts import catalog_of, withdrawals_config

__all__ = ["WEBSOCKET_PATH", "Economy", "catalog_of", "withdrawals_config"]
