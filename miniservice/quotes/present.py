"""A quote as the pages show it: citations numbered once so every figure can point at its sources.

Only structure lives here; every word is in ``templates/messages/quote_phrases.txt`` and the
``h5/quote*.html`` templates. A page may show two quotes (the citizen's own and a what-if), so each
view has an ``anchor`` that keeps their citation links apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import cached_property
from typing import Any

from miniservice.rules.citing import Citation
from miniservice.rules.quote_model import Quote


def percent(rate: Decimal) -> str:
    """``0.08`` → ``8%``, ``0.0005`` → ``0.05%``: rates as the seed articles write them."""
    return f"{(rate * 100).normalize():f}%"


class QuoteView:
    """One quote on one page; ``anchor`` prefixes the ids of its sections and citations."""

    def __init__(self, quote: Quote, anchor: str) -> None:
        self.quote = quote
        self.anchor = anchor

    @cached_property
    def numbers(self) -> dict[str, int]:
        """Citation key → its number on the page, in the order of ``to_json()["citations"]``."""
        return {key: number for number, key in enumerate(sorted(self.quote.citations), start=1)}

    @property
    def cited(self) -> list[tuple[int, Citation]]:
        return [(self.numbers[key], self.quote.citations[key]) for key in sorted(self.quote.citations)]

    def refs(self, keys: Iterable[str]) -> list[int]:
        return sorted({self.numbers[key] for key in keys if key in self.numbers})

    def illustrative(self, keys: Iterable[str]) -> bool:
        """Whether any figure behind ``keys`` is illustrative, so the section must say so."""
        return any(self.quote.citations[key].illustrative for key in keys if key in self.quote.citations)

    def value(self, keys: Iterable[str], suffix: str) -> Any:
        """The cited value whose key ends with ``suffix`` (e.g. the back-pay window a refusal rests on)."""
        return next((self.quote.citations[k].value for k in keys if k.endswith(suffix) and k in self.quote.citations),
                    None)
