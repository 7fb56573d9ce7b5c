"""Which rules are in force for a region on a day, resolved through inheritance.

For every region of the chain (region → province → national) the version in force on a day is the
published one with the latest ``effective_from`` on or before that day (ties: the later
publication). Dates decide, so a version published for a future day takes effect by itself and a
quote for a past day cites what was in force then. Resolved rules depend only on the texts of the
chain, so they are cached by the chain's content hashes, which every database agrees on; which
chain is in force is remembered while the rule book is unchanged (:class:`_RecentlyInForce`).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.pool import Pool
from sqlmodel import Session

from miniservice.db import Database
from miniservice.rulebook.models import RuleVersion
from miniservice.rules.loading import NATIONAL, RuleFileError, rulebook_from_texts
from miniservice.rules.schema import RegionRules

_CACHE_SIZE = 256
STAMP_CHECK_SECONDS = 1.0


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


@dataclass(frozen=True)
class Link:
    """What walking a chain needs of a version: not its text, which is fetched only to resolve a
    chain the cache has not seen (a records reply or quote used to load every text of the chain)."""

    id: int | None
    region_code: str
    parent_code: str | None
    content_hash: str


def _link(version: RuleVersion | Link) -> Link:
    return version if isinstance(version, Link) else Link(version.id, version.region_code, version.parent_code,
                                                          version.content_hash)


def links_in_force(session: Session, codes: list[str], on_date: date) -> dict[str, Link]:
    """:func:`version_in_force` for several codes in one query (a region's usual chain is its fallbacks)."""
    rank = func.row_number().over(
        partition_by=RuleVersion.region_code,
        order_by=(RuleVersion.effective_from.desc(), RuleVersion.published_at.desc(), RuleVersion.id.desc()),
    )
    ranked = (
        select(RuleVersion.id, RuleVersion.region_code, RuleVersion.parent_code, RuleVersion.content_hash,
               rank.label("rank"))
        .where(
            RuleVersion.region_code.in_(codes),
            RuleVersion.status == "published",
            RuleVersion.effective_from <= on_date,
        )
        .subquery()
    )
    rows = session.execute(select(ranked.c.id, ranked.c.region_code, ranked.c.parent_code, ranked.c.content_hash)
                           .where(ranked.c.rank == 1))
    return {row.region_code: Link(*row) for row in rows}


def chain_in_force(
    session: Session, region_code: str, on_date: date, substitutes: Mapping[str, RuleVersion] | None = None
) -> list[Link]:
    """The versions to merge, region first; ``substitutes`` replace a region's version (previews)."""
    substitutes = substitutes or {}
    codes = fallbacks(region_code)
    found = links_in_force(session, codes, on_date)

    def pick(code: str) -> Link | None:
        if code in substitutes:
            return _link(substitutes[code])
        if code in codes:
            return found.get(code)
        version = version_in_force(session, code, on_date)
        return _link(version) if version is not None else None

    first = next((v for v in map(pick, codes) if v is not None), None)
    if first is None:
        raise NoRulesInForce(f"no published rules for region {region_code} on {on_date.isoformat()}")
    chain = [first]
    while chain[-1].parent_code is not None:
        parent = chain[-1].parent_code
        if any(v.region_code == parent for v in chain):
            raise NoRulesInForce(f"parent cycle at {parent} for region {region_code}")
        link = pick(parent)
        if link is None:
            raise NoRulesInForce(f"no published rules for {parent} (parent of {chain[-1].region_code}) "
                                 f"on {on_date.isoformat()}")
        chain.append(link)
    return chain


class _ResolvedCache:
    """A small thread-safe LRU of resolved rules keyed by the chain's (code, content hash) pairs.

    Kept (issue 19, item 7) because resolving a chain's texts costs 5.7–6.4 ms of CPU, a chain
    looked up in the database and found here 0.8–1.3 ms (docs/performance.md, 2026-12-01); it also
    serves previews and lets :class:`_RecentlyInForce` start again after a publication without
    parsing the regions that did not change."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[tuple[tuple[str, str], ...], RegionRules] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, session: Session, chain: list[Link], substitutes: Mapping[str, RuleVersion]) -> RegionRules:
        key = tuple((v.region_code, v.content_hash) for v in chain)
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        rules = resolve_chain(chain[0].region_code, _texts(session, chain, substitutes))
        with self.lock:
            self.items[key] = rules
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return rules


def _texts(session: Session, chain: list[Link], substitutes: Mapping[str, RuleVersion]) -> dict[str, str]:
    """The TOML text of every version of ``chain`` by file name (substitutes may be unsaved drafts)."""
    codes = {link.region_code for link in chain}
    texts = {f"{code}.toml": version.toml_text for code, version in substitutes.items() if code in codes}
    wanted = [link.id for link in chain if f"{link.region_code}.toml" not in texts]
    if wanted:
        rows = session.execute(select(RuleVersion.region_code, RuleVersion.toml_text).where(RuleVersion.id.in_(wanted)))
        texts.update({f"{code}.toml": text for code, text in rows})
    return texts


def resolve_chain(region_code: str, texts: Mapping[str, str]) -> RegionRules:
    """Merge the chain's texts with the rules engineer's inheritance; raises ``RuleFileError``."""
    book = rulebook_from_texts(dict(texts))
    if book.problems:
        raise RuleFileError(book.problems)
    return book.resolve(region_code)


@dataclass
class _Remembered:
    stamp: tuple[int, int, int] | None = None
    checked_at: float = float("-inf")
    rules: dict[tuple[str, date], RegionRules] = field(default_factory=dict)


class _RecentlyInForce:
    """Rules already resolved in this process, by database and (region, day), while the rule book is
    unchanged.

    A menu push brings thousands of taps a minute for a handful of regions, and asking the database
    which versions are in force was a fifth of a 缴费记录 reply: 0.8 ms of CPU on SQLite, 1.3 ms and
    a round trip on PostgreSQL, against 0.001 ms remembered (docs/performance.md, 2026-12-01). Whether the
    rule book changed is read at most every ``check_seconds`` (:func:`_stamp`); publishing, rollback
    and loading in this process forget at once (:func:`forget_recent`), so only another process's
    change is seen up to ``check_seconds`` late, as if the tap had come that much earlier.
    """

    def __init__(self, check_seconds: float, size: int) -> None:
        self.check_seconds, self.size = check_seconds, size
        self.by_pool: weakref.WeakKeyDictionary[Pool, _Remembered] = weakref.WeakKeyDictionary()
        self.lock = threading.Lock()

    def get(self, session: Session, region_code: str, on_date: date) -> RegionRules:
        pool = session.get_bind().pool  # the same for a Database's reading and writing engines
        with self.lock:
            remembered = self.by_pool.setdefault(pool, _Remembered())
            due = time.monotonic() >= remembered.checked_at + self.check_seconds
        if due:
            stamp = _stamp(session)  # before the chain is read: a rule read below is never older
            with self.lock:
                if stamp != remembered.stamp:
                    remembered.stamp, remembered.rules = stamp, {}
                remembered.checked_at = time.monotonic()
        with self.lock:
            found = remembered.rules.get((region_code, on_date))
        if found is not None:
            return found
        rules = _cache.get(session, chain_in_force(session, region_code, on_date), {})
        with self.lock:
            if len(remembered.rules) >= self.size:
                remembered.rules.clear()
            remembered.rules[(region_code, on_date)] = rules
        return rules

    def clear(self) -> None:
        with self.lock:
            self.by_pool.clear()


def _stamp(session: Session) -> tuple[int, int, int]:
    """Changes whenever what is in force can: versions only move draft → published → retired (or
    draft → retired), so the published count plus the retired count, and the retired count, only
    grow, and every publication, load or rollback grows one of them."""
    published = func.count().filter(RuleVersion.status == "published")
    retired = func.count().filter(RuleVersion.status == "retired")
    row = session.execute(select(published, retired, func.coalesce(func.max(RuleVersion.id), 0))).one()
    return (row[0] + row[1], row[1], row[2])


_cache = _ResolvedCache(_CACHE_SIZE)
_recent = _RecentlyInForce(STAMP_CHECK_SECONDS, _CACHE_SIZE)


def forget_recent() -> None:
    """Call after committing a change to what is in force, so this process sees it at once."""
    _recent.clear()


def rules_in_force(source: Session | Database, region_code: str, on_date: date) -> RegionRules:
    """The complete rules for ``region_code`` on ``on_date``; raises :class:`NoRulesInForce`.

    Every figure of the result carries the file, version and effective date it came from, so a
    quote or a reminder built on it can cite them.
    """
    if isinstance(source, Database):
        with source.reading() as session:
            return rules_in_force(session, region_code, on_date)
    return _recent.get(source, region_code, on_date)


def preview_rules(
    session: Session, region_code: str, on_date: date, substitutes: Mapping[str, RuleVersion]
) -> RegionRules:
    """Rules for ``region_code`` on ``on_date`` as if ``substitutes`` (drafts) were in force."""
    return _cache.get(session, chain_in_force(session, region_code, on_date, substitutes), substitutes)

