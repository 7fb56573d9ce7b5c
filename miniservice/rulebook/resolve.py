"""Which rules are in force for a region on a day, resolved through inheritance.

For every region of the chain (region → province → national) the version in force on a day is the
published one with the latest ``effective_from`` on or before that day (ties: the later
publication). Dates decide, so a version published for a future day takes effect by itself and a
quote for a past day cites what was in force then. Resolved rules depend only on the texts of the
chain, so they are cached by the chain's content hashes, which every database agrees on.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import date

from sqlalchemy import func, select
from sqlmodel import Session

from miniservice.db import Database
from miniservice.rulebook.models import RuleVersion
from miniservice.rules.loading import NATIONAL, RuleFileError, rulebook_from_texts
from miniservice.rules.schema import RegionRules

_CACHE_SIZE = 256


class NoRulesInForce(LookupError):
    """No published version covers this region (or one of its parents) on the day asked about."""


def fallbacks(code: str) -> list[str]:
    """A region, its city, its province, national: where a code without rules of its own looks."""
    if not (len(code) == 6 and code.isdigit()):
        return [code]
    return list(dict.fromkeys([code, code[:4] + "00", code[:2] + "0000", NATIONAL]))


def version_in_force(session: Session, code: str, on_date: date) -> RuleVersion | None:
    """The published version of exactly ``code`` that applies on ``on_date``."""
    return session.execute(
        select(RuleVersion)
        .where(
            RuleVersion.region_code == code,
            RuleVersion.status == "published",
            RuleVersion.effective_from <= on_date,
        )
        .order_by(RuleVersion.effective_from.desc(), RuleVersion.published_at.desc(), RuleVersion.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def versions_in_force(session: Session, codes: list[str], on_date: date) -> dict[str, RuleVersion]:
    """:func:`version_in_force` for several codes in one query (a region's usual chain is its fallbacks).

    Every records reply, quote and reminder resolves a chain; one round trip per level was most of
    the time a callback spent on rules (bench/callback.py).
    """
    rank = func.row_number().over(
        partition_by=RuleVersion.region_code,
        order_by=(RuleVersion.effective_from.desc(), RuleVersion.published_at.desc(), RuleVersion.id.desc()),
    )
    ranked = (
        select(RuleVersion.id, rank.label("rank"))
        .where(
            RuleVersion.region_code.in_(codes),
            RuleVersion.status == "published",
            RuleVersion.effective_from <= on_date,
        )
        .subquery()
    )
    rows = session.execute(select(RuleVersion).join(ranked, ranked.c.id == RuleVersion.id).where(ranked.c.rank == 1))
    return {version.region_code: version for version in rows.scalars()}


def chain_in_force(
    session: Session, region_code: str, on_date: date, substitutes: Mapping[str, RuleVersion] | None = None
) -> list[RuleVersion]:
    """The versions to merge, region first; ``substitutes`` replace a region's version (previews)."""
    substitutes = substitutes or {}
    codes = fallbacks(region_code)
    found = versions_in_force(session, codes, on_date)

    def pick(code: str) -> RuleVersion | None:
        if code in substitutes:
            return substitutes[code]
        return found.get(code) if code in codes else version_in_force(session, code, on_date)

    first = next((v for v in map(pick, codes) if v is not None), None)
    if first is None:
        raise NoRulesInForce(f"no published rules for region {region_code} on {on_date.isoformat()}")
    chain = [first]
    while chain[-1].parent_code is not None:
        parent = chain[-1].parent_code
        if any(v.region_code == parent for v in chain):
            raise NoRulesInForce(f"parent cycle at {parent} for region {region_code}")
        version = pick(parent)
        if version is None:
            raise NoRulesInForce(f"no published rules for {parent} (parent of {chain[-1].region_code}) "
                                 f"on {on_date.isoformat()}")
        chain.append(version)
    return chain


class _ResolvedCache:
    """A small thread-safe LRU of resolved rules keyed by the chain's (code, content hash) pairs."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[tuple[tuple[str, str], ...], RegionRules] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, chain: list[RuleVersion]) -> RegionRules:
        key = tuple((v.region_code, v.content_hash) for v in chain)
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        rules = resolve_chain(chain)
        with self.lock:
            self.items[key] = rules
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return rules


def resolve_chain(chain: list[RuleVersion]) -> RegionRules:
    """Merge the chain's texts with the rules engineer's inheritance; raises ``RuleFileError``."""
    book = rulebook_from_texts({v.filename: v.toml_text for v in chain})
    if book.problems:
        raise RuleFileError(book.problems)
    return book.resolve(chain[0].region_code)


_cache = _ResolvedCache(_CACHE_SIZE)


def rules_in_force(source: Session | Database, region_code: str, on_date: date) -> RegionRules:
    """The complete rules for ``region_code`` on ``on_date``; raises :class:`NoRulesInForce`.

    Every figure of the result carries the file, version and effective date it came from, so a
    quote or a reminder built on it can cite them.
    """
    if isinstance(source, Database):
        with source.reading() as session:
            return rules_in_force(session, region_code, on_date)
    return _cache.get(chain_in_force(source, region_code, on_date))


def preview_rules(
    session: Session, region_code: str, on_date: date, substitutes: Mapping[str, RuleVersion]
) -> RegionRules:
    """Rules for ``region_code`` on ``on_date`` as if ``substitutes`` (drafts) were in force."""
    return _cache.get(chain_in_force(session, region_code, on_date, substitutes))

