"""``python -m examples.shop``: run the demo shop (see examples/shop/server.py)."""

from examples.shop.server import main

main()
