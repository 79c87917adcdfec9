"""asset_pro transfer request and result: exact amounts in Python, decimal strings on the wire.

``TransferRequest`` holds the amount as an int of base units plus the token's ``decimals``;
``to_wire()`` sends it as the decimal string the API expects (``gamepay.core.money``).
Bad input raises a typed ``gamepay.errors.InvalidInput`` at construction, before anything is sent.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gamepay.core.money import MAX_DECIMALS, check_amount, format_amount
from gamepay.errors import AmountPrecisionError, InvalidInput
from gamepay.kryptogo import wire

__all__ = ["TransferRequest", "TransferResult"]


def _summarize(exc: ValidationError) -> str:
    """Return a short, value-free description of a pydantic validation failure."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(item) for item in error["loc"]) or "value"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


class TransferRequest(BaseModel):
    """One asset_pro transfer from the organization's treasury to a wallet.

    ``amount`` is an int of base units (``0 < amount < 2**256``; floats and bools are refused),
    ``decimals`` the token's decimal places, ``note`` free text (put a stable request id in it:
    it is the ``reference`` of an ``OutcomeUnknownError`` and what reconciliation matches on).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    chain_id: str = Field(min_length=1, max_length=32)
    token_address: str = Field(min_length=1, max_length=128)
    amount: int
    decimals: int
    wallet_address: str = Field(min_length=1, max_length=128)
    note: str = Field(default="", max_length=1000)

    def __init__(self, **data: Any) -> None:
        """Validate; any refusal is raised as ``InvalidInput`` (or a subclass), never pydantic's."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidInput(f"invalid transfer request: {_summarize(exc)}") from None

    @field_validator("amount", mode="before")
    @classmethod
    def _exact_amount(cls, value: Any) -> int:
        """Only an int of base units in range: never a float, bool or string."""
        return check_amount(value)

    @field_validator("decimals", mode="before")
    @classmethod
    def _decimals(cls, value: Any) -> int:
        """Decimals must be an int in 0..MAX_DECIMALS."""
        if type(value) is not int or not 0 <= value <= MAX_DECIMALS:
            raise AmountPrecisionError(f"decimals must be an int in 0..{MAX_DECIMALS}")
        return value

    @property
    def amount_text(self) -> str:
        """The amount as the exact decimal string sent on the wire (``9230000, 6 -> "9.23"``)."""
        return format_amount(self.amount, self.decimals)

    def to_wire(self) -> dict[str, Any]:
        """Return the JSON body of the transfer call (names from ``gamepay.kryptogo.wire``)."""
        return {
            wire.TRANSFER_CHAIN_ID: self.chain_id,
            wire.TRANSFER_CONTRACT_ADDRESS: self.token_address,
            wire.TRANSFER_AMOUNT: self.amount_text,
            wire.TRANSFER_WALLET_ADDRESS: self.wallet_address,
            wire.TRANSFER_NOTE: self.note,
        }


class TransferResult(BaseModel):
    """The answer to a transfer: the service's transfer id, the tx hash (if any) and a status.

    Unknown extra fields are kept (``model_extra``), as the service may add some.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    transfer_id: str = Field(min_length=1)
    tx_hash: str | None = None
    status: str
