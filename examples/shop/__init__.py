"""A small runnable game server with a shop, on gamepay's websocket adapter and the sandbox."""
