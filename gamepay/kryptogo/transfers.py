"""asset_pro transfer request and result: exact amounts in Python, decimal strings on the wire.

``TransferRequest`` holds the amount as an int of base units plus the token's ``decimals``;
``to_wire()`` sends it as the decimal string the API expects (``gamepay.core.money``).
Bad input raises a typed ``gamepay.errors.InvalidInput`` at construction, before anything is sent.

``TransferResult`` is what a ``code: 0`` answer means: the transfer was executed. It reads the
documented answer (``id``, ``tx_hash``, ``transfer_time``) and our earlier guess (``transfer_id``,
``status``); ``TransferResult.read`` never refuses a success answer, it records what was odd.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

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
    ``decimals`` the token's decimal places. ``reference`` is local only, NEVER sent (the API
    documents no note or request id): it names the call in logs and is the ``reference`` of an
    ``OutcomeUnknownError``; reconciliation matches on what the API does record (see
    ``gamepay.withdrawals.matching``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    chain_id: str = Field(min_length=1, max_length=32)
    token_address: str = Field(min_length=1, max_length=128)
    amount: int
    decimals: int
    wallet_address: str = Field(min_length=1, max_length=128)
    reference: str = Field(default="", max_length=1000)

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

    def to_wire(self) -> dict[str, str]:
        """Return the JSON body of the transfer call: exactly the four documented strings."""
        return {
            wire.TRANSFER_CHAIN_ID: self.chain_id,
            wire.TRANSFER_CONTRACT_ADDRESS: self.token_address,
            wire.TRANSFER_AMOUNT: self.amount_text,
            wire.TRANSFER_WALLET_ADDRESS: self.wallet_address,
        }


def _unix_time(value: Any) -> datetime:
    """Unix seconds (an int or float, not a bool) as an aware UTC datetime; ValueError else."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("transfer_time must be timezone-aware")
        return value.astimezone(UTC)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("transfer_time must be unix seconds")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError("transfer_time is out of range") from None


class TransferResult(BaseModel):
    """An executed transfer: KryptoGO's transfer id, the tx hash and when it happened.

    ``transfer_id`` is read from ``id`` (documented) or ``transfer_id`` (our earlier name);
    ``transfer_time`` from unix seconds, as an aware UTC datetime; ``status`` is optional (the
    documented answer has none). Unknown fields are kept (``model_extra``). Any of them may be
    None when the answer lacked it: see ``problems``.
    """

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    transfer_id: str | None = Field(
        default=None,
        min_length=1,
        validation_alias=AliasChoices(wire.TRANSFER_ID, wire.TRANSFER_TRANSFER_ID),
    )
    tx_hash: str | None = None
    transfer_time: datetime | None = None
    status: str | None = None
    _problems: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("transfer_time", mode="before")
    @classmethod
    def _time(cls, value: Any) -> datetime | None:
        """Unix seconds become an aware UTC datetime; a naive datetime is refused."""
        return None if value is None else _unix_time(value)

    @property
    def problems(self) -> tuple[str, ...]:
        """What was odd in the answer ``read`` made this from (empty when it was clean)."""
        return self._problems

    @classmethod
    def read(cls, data: Any) -> TransferResult:
        """Read a success answer's ``data`` tolerantly: never raises, notes what was odd.

        A field of the wrong type is left None (an int id is kept as its decimal string); a
        missing transfer id, tx hash or ``transfer_time`` is noted; unknown fields are kept.
        ``problems`` lists each oddity.
        """
        if not isinstance(data, Mapping):
            result = cls()
            result._problems = (f"data is {type(data).__name__}, not an object",)
            return result
        problems: list[str] = []
        extra = {
            str(key): value
            for key, value in data.items()
            if key not in (*wire.TRANSFER_ID_FIELDS, wire.TRANSFER_TX_HASH, wire.TRANSFER_TIME)
            and key != wire.TRANSFER_STATUS
        }
        transfer_id: str | None = None
        named = [name for name in wire.TRANSFER_ID_FIELDS if data.get(name) is not None]
        if not named:
            problems.append("no transfer id")
        else:
            raw = data[named[0]]
            if isinstance(raw, str) and raw:
                transfer_id = raw
            elif type(raw) is int:
                transfer_id = str(raw)
                problems.append(f"{named[0]} is a number, not a string")
            else:
                problems.append(f"{named[0]} is not a non-empty string")
        tx_hash = data.get(wire.TRANSFER_TX_HASH)
        if tx_hash is None:
            problems.append(f"no {wire.TRANSFER_TX_HASH}")
        elif not (isinstance(tx_hash, str) and tx_hash):
            problems.append(f"{wire.TRANSFER_TX_HASH} is not a non-empty string")
            tx_hash = None
        transfer_time: datetime | None = None
        if data.get(wire.TRANSFER_TIME) is None:
            problems.append(f"no {wire.TRANSFER_TIME}")
        else:
            try:
                transfer_time = _unix_time(data[wire.TRANSFER_TIME])
            except ValueError as exc:
                problems.append(str(exc))
        status = data.get(wire.TRANSFER_STATUS)
        if status is not None and not isinstance(status, str):
            problems.append(f"{wire.TRANSFER_STATUS} is not a string")
            status = None
        try:
            result = cls(
                transfer_id=transfer_id,
                tx_hash=tx_hash,
                transfer_time=transfer_time,
                status=status,
                **extra,
            )
        except ValidationError:  # an unknown field pydantic will not hold: keep the known ones
            problems.append("unknown fields could not be kept")
            result = cls(
                transfer_id=transfer_id, tx_hash=tx_hash, transfer_time=transfer_time, status=status
            )
        result._problems = tuple(problems)
        return result
