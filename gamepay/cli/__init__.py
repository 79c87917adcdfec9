"""The gamepay operator CLI (typer + rich)."""
