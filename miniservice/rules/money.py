"""Money arithmetic: ``Decimal`` yuan everywhere, rounded half-up to 分 only at the end.

Intermediate products (base × rate × months, daily late fees) keep full precision so that the
rounding of one month never compounds into the next; :func:`to_fen` is applied once, to what a
citizen is shown or charged.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
ZERO = Decimal("0")


def to_fen(amount: Decimal) -> Decimal:
    """Round a yuan amount half-up to whole 分."""
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def parse_money(text: str | int | Decimal) -> Decimal:
    """Parse a yuan amount from text or an int; floats are refused because they are inexact."""
    if isinstance(text, float):
        raise TypeError("money must not be a float")
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount of money: {text!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not an amount of money: {text!r}")
    return value


def format_yuan(amount: Decimal) -> str:
    """``3200`` → ``3,200.00``: how amounts are shown to citizens."""
    return f"{to_fen(amount):,.2f}"
