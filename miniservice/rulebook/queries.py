"""Reading rule versions for pages and commands: one version, a region's versions, the region list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, func, select
from sqlmodel import Session

from miniservice.rulebook.models import RuleVersion


class RulebookError(ValueError):
    """A step the rule book refuses (wrong state, clash, stale page); the message is for staff."""


class VersionNotFound(RulebookError):
    pass


def get_version(session: Session, version_id: int) -> RuleVersion:
    version = session.get(RuleVersion, version_id)
    if version is None:
        raise VersionNotFound(f"没有编号为 {version_id} 的规则版本")
    return version


@dataclass(frozen=True)
class RegionStatus:
    """One line of the region list."""

    code: str
    name: str
    parent: str | None
    active: RuleVersion | None
    scheduled: tuple[RuleVersion, ...]
    drafts: tuple[RuleVersion, ...]
    latest_published: RuleVersion | None


def regions_overview(session: Session, today: date) -> list[RegionStatus]:
    """Every region with its version in force today, the ones scheduled later, and open drafts."""
    rows = session.execute(select(RuleVersion).order_by(RuleVersion.region_code, RuleVersion.id)).scalars().all()
    return [_status(code, [r for r in rows if r.region_code == code], today)
            for code in dict.fromkeys(r.region_code for r in rows)]


# Built once: building this window query on every quote page cost more than SQLite running it.
_RANKED = (select(RuleVersion.region_code, RuleVersion.region_name, func.row_number().over(
    partition_by=RuleVersion.region_code,
    order_by=(RuleVersion.effective_from.desc(), RuleVersion.published_at.desc(), RuleVersion.id.desc()),
).label("rank")).where(RuleVersion.status == "published", RuleVersion.effective_from <= bindparam("today"))
    .subquery())
_REGIONS_IN_FORCE = (select(_RANKED.c.region_code, _RANKED.c.region_name).where(_RANKED.c.rank == 1)
                     .order_by(_RANKED.c.region_code))


def regions_in_force(session: Session, today: date) -> list[tuple[str, str]]:
    """(code, name) of every region with a version in force ``today``, by code: the names the quote
    page's region list shows, without loading every version's text as :func:`regions_overview` does
    (8% of the page's Python calls with the shipped rule files, and growing with every version kept;
    docs/performance.md)."""
    rows = session.connection().execute(_REGIONS_IN_FORCE, {"today": today})
    return [(code, name) for code, name in rows]


def region_status(session: Session, region_code: str, today: date) -> RegionStatus | None:
    """One region's line of the overview; None when the region has no version at all."""
    versions = versions_of(session, region_code)
    return _status(region_code, reversed(versions), today) if versions else None


def _status(code: str, versions: Iterable[RuleVersion], today: date) -> RegionStatus:
    versions = list(versions)
    published = sorted((v for v in versions if v.status == "published"),
                       key=lambda v: (v.effective_from, v.published_at or v.created_at, v.id or 0), reverse=True)
    active = next((v for v in published if v.effective_from <= today), None)
    shown = active or (published[0] if published else versions[-1])
    return RegionStatus(
        code=code,
        name=shown.region_name,
        parent=shown.parent_code,
        active=active,
        scheduled=tuple(sorted((v for v in published if v.effective_from > today), key=lambda v: v.effective_from)),
        drafts=tuple(v for v in versions if v.status == "draft"),
        latest_published=published[0] if published else None,
    )


def versions_of(session: Session, region_code: str) -> list[RuleVersion]:
    """Every version of a region, newest first."""
    return list(session.execute(
        select(RuleVersion).where(RuleVersion.region_code == region_code).order_by(RuleVersion.id.desc())
    ).scalars())
