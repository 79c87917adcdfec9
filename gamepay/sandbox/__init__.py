"""A local KryptoGO Studio emulator: the four API endpoints, a simulated chain, a control API.

Like stripe-mock plus the Stripe CLI: ``Sandbox`` holds the state and the Python control API,
``create_app`` serves it as ASGI, ``serve_sandbox`` runs it with uvicorn on 127.0.0.1, and
``gamepay sandbox serve`` does the same from the command line. See ``lifecycle`` for the intent
state machine and the late-payment policy, ``faults`` for fault injection, ``callbacks`` for
delivery, ``config`` for the chains, tokens and quote rule, ``codes`` for the error codes.
"""

from gamepay.sandbox.app import create_app
from gamepay.sandbox.callbacks import CallbackAttempt
from gamepay.sandbox.config import (
    DEFAULT_API_KEY,
    DEFAULT_CLIENT_ID,
    ChainConfig,
    SandboxConfig,
    TokenConfig,
)
from gamepay.sandbox.emulator import PayMode, Sandbox
from gamepay.sandbox.faults import Faults
from gamepay.sandbox.server import RunningSandbox, serve_sandbox
from gamepay.sandbox.treasury import TreasuryTransfer

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_CLIENT_ID",
    "CallbackAttempt",
    "ChainConfig",
    "Faults",
    "PayMode",
    "RunningSandbox",
    "Sandbox",
    "SandboxConfig",
    "TokenConfig",
    "TreasuryTransfer",
    "create_app",
    "serve_sandbox",
]
