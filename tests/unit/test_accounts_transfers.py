"""Unit tests for account ids, transfer specs and batch digests (pure core)."""

from __future__ import annotations

import pytest

from gamepay.core.accounts import (
    AccountKind,
    check_account_id,
    issuer_account,
    player_account,
    pool_account,
    world_account,
)
from gamepay.core.money import MAX_AMOUNT
from gamepay.core.transfers import TransferKind, TransferSpec, batch_content_hash
from gamepay.errors import AccountError, AmountRangeError, AmountTypeError, InvalidInput


def test_well_known_account_ids() -> None:
    """The helpers build the documented ids."""
    assert player_account("alice") == "player:alice"
    assert world_account("arb") == "world:arb"
    assert issuer_account("item:sword") == "issuer:item:sword"
    assert pool_account("weekly") == "pool:weekly"
    assert AccountKind("player") is AccountKind.PLAYER


@pytest.mark.parametrize("bad", ["", "a b", "x" * 201, "tab\t", "é", None, 5])
def test_bad_account_ids_are_refused(bad: object) -> None:
    """Empty, spaced, overlong, non-ASCII and non-string ids are AccountErrors."""
    with pytest.raises(AccountError):
        check_account_id(bad)


def test_player_account_validates() -> None:
    """A player id with a space makes an invalid account id."""
    with pytest.raises(AccountError):
        player_account("al ice")


def test_transfer_spec_defaults_and_kind_coercion() -> None:
    """Kind defaults to transfer; a kind string becomes the enum member."""
    spec = TransferSpec("a", "b", "currency:gold", MAX_AMOUNT)
    assert spec.kind is TransferKind.TRANSFER
    assert TransferSpec("a", "b", "currency:gold", 1, kind="reward").kind is TransferKind.REWARD
    assert spec.content() == ("a", "b", "currency:gold", MAX_AMOUNT, "transfer", None)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"amount": 0}, AmountRangeError),
        ({"amount": MAX_AMOUNT + 1}, AmountRangeError),
        ({"amount": 1.0}, AmountTypeError),
        ({"amount": "1"}, AmountTypeError),
        ({"credit": "a"}, AccountError),
        ({"debit": "bad id"}, AccountError),
        ({"kind": "gift"}, InvalidInput),
        ({"asset": ""}, InvalidInput),
        ({"memo": "x" * 501}, InvalidInput),
    ],
)
def test_transfer_spec_refuses_bad_fields(
    kwargs: dict[str, object], error: type[Exception]
) -> None:
    """Every malformed field raises its typed error at construction."""
    fields: dict[str, object] = {"debit": "a", "credit": "b", "asset": "currency:gold", "amount": 5}
    fields.update(kwargs)
    with pytest.raises(error):
        TransferSpec(**fields)  # type: ignore[arg-type]


def test_batch_hash_depends_on_content_and_order() -> None:
    """The digest is stable for equal content and changes with any field or the order."""
    a = TransferSpec("a", "b", "currency:gold", 5)
    b = TransferSpec("b", "c", "currency:gold", 7, memo="m")
    assert batch_content_hash([a, b]) == batch_content_hash([a, b])
    assert batch_content_hash([a, b]) != batch_content_hash([b, a])
    assert batch_content_hash([a]) != batch_content_hash(
        [TransferSpec("a", "b", "currency:gold", 6)]
    )
    assert batch_content_hash([b]) != batch_content_hash(
        [TransferSpec("b", "c", "currency:gold", 7)]
    )
