"""Websocket game-server adapter for gamepay."""
