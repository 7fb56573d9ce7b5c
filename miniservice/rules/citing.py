"""Reading figures *through* a citation recorder, so a quote can never show an uncited number.

The quote engine never reads ``rules.employee.unit_rate.value`` directly: it asks a :class:`Citer`
for ``"employee.unit_rate"``, which returns the value and records the figure's Chinese label, its
registry documents with the quoted sentences, its file, version and effective date. Whatever the
engine used is exactly what the quote cites.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from pydantic import BaseModel

from miniservice.rules.labels import figure_label, figure_value_text
from miniservice.rules.schema import Figure, RegionRules, Sourced
from miniservice.rules.sources import SourceDoc


class QuoteError(ValueError):
    """The rules or the facts do not allow a quote (missing wage year, missing sex, ...)."""


class FactError(QuoteError):
    """The facts given contradict the rules (a retiree younger than anyone may retire): ``field`` names
    the input at fault and the message is plain Chinese, for the person who typed it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class CitedSource:
    """A registry document and the sentence quoted from it (``says``: what a differing source says)."""

    doc: SourceDoc
    quote: str | None
    says: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = {"id": self.doc.id, "title": self.doc.title, "issuer": self.doc.issuer, "kind": self.doc.kind.value,
                "citation": self.doc.citation(), "number": self.doc.number, "url": self.doc.url,
                "published": self.doc.published.isoformat() if self.doc.published else None,
                "quote": self.quote}
        if self.says is not None:
            data["says"] = self.says
        return data


@dataclass(frozen=True, slots=True)
class Citation:
    key: str  # dotted path in the resolved rules, e.g. "flexible.unit_rate" or "wage.average_monthly.2024"
    value: Any
    source: str  # the source as a person reads it: 《title》（issuer，文号，date）
    illustrative: bool
    file: str
    region: str
    version: str
    effective_from: date
    note: str | None = None
    label: str = ""  # the figure's Chinese name (labels.figure_label)
    shown: str = ""  # the value as a citizen reads it (labels.figure_value_text)
    cited: tuple[CitedSource, ...] = ()  # the main source first, then ``also``
    differs: tuple[CitedSource, ...] = ()  # sources that give another figure

    @property
    def main(self) -> CitedSource | None:
        return self.cited[0] if self.cited else None

    def to_json(self) -> dict[str, Any]:
        value = [str(v) for v in self.value] if isinstance(self.value, tuple | list) else _scalar(self.value)
        data = {"value": value, "label": self.label, "shown": self.shown, "source": self.source,
                "sources": [c.to_json() for c in self.cited], "illustrative": self.illustrative,
                "file": self.file, "region": self.region, "version": self.version,
                "effective_from": self.effective_from.isoformat()}
        if self.differs:
            data["differs"] = [c.to_json() for c in self.differs]
        if self.note:
            data["note"] = self.note
        return data


def _scalar(value: Any) -> Any:
    if isinstance(value, bool | int) or value is None:
        return value
    return str(value)


# The figure and citation of each key already cited, per resolved rules object (rules are frozen and
# cached per version, so one object serves every quote of a version): building a citation (label,
# shown value, documents) was a third of a quote's CPU (docs/performance.md). Dropped with the rules.
_KNOWN: dict[int, dict[str, tuple[Sourced, Citation]]] = {}


def _known(rules: RegionRules) -> dict[str, tuple[Sourced, Citation]]:
    known = _KNOWN.get(id(rules))
    if known is None:
        known = _KNOWN[id(rules)] = {}
        weakref.finalize(rules, _KNOWN.pop, id(rules), None)
    return known


class Citer:
    """Looks figures up by dotted path and remembers every one it handed out."""

    def __init__(self, rules: RegionRules) -> None:
        self.rules = rules
        self.used: dict[str, Citation] = {}
        self._tracks: list[list[str]] = []
        self._known = _known(rules)

    def sourced(self, key: str) -> Sourced:
        known = self._known.get(key)
        if known is None:
            figure = self._walk(key)
            known = self._known[key] = (figure, cite(self.rules, key, figure))
        figure, citation = known
        if key not in self.used:
            self.used[key] = citation
        for track in self._tracks:
            if key not in track:
                track.append(key)
        return figure

    def _walk(self, key: str) -> Sourced:
        node: Any = self.rules
        for part in key.replace("[", ".").replace("]", "").split("."):
            if isinstance(node, BaseModel):
                node = getattr(node, part)
            elif isinstance(node, dict):
                node = node[int(part)] if part.isdigit() else node[part]
            else:
                node = node[int(part)]
        if not isinstance(node, Sourced):
            raise TypeError(f"{key} is not a sourced figure")
        return node

    def value(self, key: str) -> Any:
        figure = self.sourced(key)
        if not isinstance(figure, Figure):
            raise TypeError(f"{key} is not a figure")
        return figure.value

    def by_year(self, table: str, year: int) -> tuple[int, Any]:
        """The figure for ``year`` in a year table, else the latest earlier year.

        An earlier year's figure standing in for ``year`` is an extrapolation no source states, so
        its citation is marked illustrative and noted as such, whatever the figure's own standing
        (audit finding 6: 南昌's 2025 premium was shown as the official 2026 one).
        """
        years = sorted(y for y in self._table(table) if y <= year)
        if not years:
            raise QuoteError(f"{self.rules.code}: {table} has no figure for {year} or earlier")
        used = years[-1]
        value = self.value(f"{table}.{used}")
        if used != year:
            self.estimate(f"{table}.{used}", f"暂无 {year} 年的数据，按 {used} 年的数据测算")
        return used, value

    def estimate(self, key: str, note: str) -> None:
        """Mark the figure at ``key``, already cited, as used beyond what its source states.

        Its citation in this quote becomes illustrative, ``note`` (Chinese, saying what was assumed)
        leading its own note; the figure itself and other quotes' citations of it are untouched.
        """
        own = self.used[key].note
        if not own or note not in own:
            self.used[key] = replace(self.used[key], note=f"{note}；{own}" if own else note)
        self.used[key] = replace(self.used[key], illustrative=True)

    def _table(self, table: str) -> dict[int, Any]:
        node: Any = self.rules
        for part in table.split("."):
            node = getattr(node, part)
        return node

    @contextmanager
    def track(self) -> Iterator[list[str]]:
        """Collect the keys cited inside a ``with`` block, so each quote section lists its own."""
        keys: list[str] = []
        self._tracks.append(keys)
        try:
            yield keys
        finally:
            self._tracks.remove(keys)



def cite(rules: RegionRules, key: str, figure: Sourced) -> Citation:
    """The citation of one resolved figure: its Chinese label, shown value and registry documents."""
    origin = figure.origin
    if origin is None:
        raise QuoteError(f"{key} has no origin: use rules from RuleBook.resolve")
    value = figure.value if isinstance(figure, Figure) else getattr(figure, "label", None)

    def doc(source_id: str) -> SourceDoc:
        if source_id not in rules.sources:
            raise QuoteError(f"{key}: source {source_id!r} is not in the source registry")
        return rules.sources[source_id]

    cited = (CitedSource(doc(figure.source), figure.quote),
             *(CitedSource(doc(c.source), c.quote) for c in figure.also))
    differs = tuple(CitedSource(doc(d.source), d.quote, d.says) for d in figure.differs)
    shown = figure_value_text(key, value) if isinstance(figure, Figure) else str(value or "")
    return Citation(key, value, cited[0].doc.citation(), figure.illustrative, origin.file, origin.code,
                    origin.version, origin.effective_from, figure.note, figure_label(key), shown, cited, differs)
