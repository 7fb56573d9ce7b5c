"""Business steps on rule versions; each owns its transaction and writes its audit row in it.

A version's text is checked twice before it can matter: alone (the schema) and merged with the
versions of its parents (a region file may leave out what the province or national file gives).
A text that fails is refused whole, so a bad file or a bad edit never replaces a good version.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import select, update
from sqlmodel import Session

from miniservice import audit
from miniservice.clock import now_utc
from miniservice.db import Database, IntegrityError
from miniservice.rulebook.diff import Change, field_diff, plain, summary
from miniservice.rulebook.models import RuleVersion
from miniservice.rulebook.queries import (
    RegionStatus,
    RulebookError,
    VersionNotFound,
    get_version,
    region_status,
    regions_overview,
    versions_of,
)
from miniservice.rulebook.resolve import (
    NoRulesInForce,
    forget_recent,
    preview_rules,
    rules_in_force,
    version_in_force,
)
from miniservice.rules.loading import Problem, RuleFileError, dump_toml, parse_region, rulebook_from_texts
from miniservice.rules.schema import RegionHeader

MAX_LABEL = 40

# The read side lives in ``queries``; it is re-exported so callers need one import for the rule book.
__all__ = [
    "LoadReport", "NoRulesInForce", "RegionStatus", "RulebookError", "VersionNotFound", "content_hash",
    "create_draft", "discard_draft", "export_toml", "get_version", "import_toml", "load_directory", "publish",
    "region_status", "regions_overview", "rollback", "rules_in_force", "update_draft", "versions_of",
]


@dataclass
class LoadReport:
    """What ``load_directory`` did with each file."""

    stored: list[str] = field(default_factory=list)  # "440300@2025.2"
    unchanged: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def content_hash(region: RegionHeader) -> str:
    """Hash of the canonical text: comments and layout do not make a new version."""
    return hashlib.sha256(dump_toml(region).encode("utf-8")).hexdigest()


@contextmanager
def _changing_what_is_in_force(db: Database) -> Iterator[Session]:
    """A transaction after whose commit this process stops using rules it resolved a moment ago."""
    with db.transaction() as session:
        yield session
    forget_recent()


def _label(region: RegionHeader) -> str:
    return f"{region.code}@{region.version}"


def _row(region: RegionHeader, text: str, *, status: str, source: str, actor: str) -> RuleVersion:
    if len(region.version) > MAX_LABEL:
        raise RuleFileError([Problem(f"{region.code}.toml", "version", f"at most {MAX_LABEL} characters")])
    return RuleVersion(
        region_code=region.code,
        region_name=region.name[:100],
        parent_code=region.parent,
        version=region.version,
        effective_from=region.effective_from,
        status=status,
        toml_text=text,
        content_hash=content_hash(region),
        source=source,
        created_by=actor,
    )


def _check_resolves(session: Session, candidate: RuleVersion, on_date: date) -> None:
    """Raise ``RuleFileError`` unless ``candidate`` resolves with the parents in force on ``on_date``."""
    try:
        preview_rules(session, candidate.region_code, on_date, {candidate.region_code: candidate})
    except NoRulesInForce as exc:
        raise RuleFileError([Problem(candidate.filename, "parent", str(exc))]) from exc


def _same_content(session: Session, code: str, digest: str) -> RuleVersion | None:
    return session.execute(
        select(RuleVersion).where(RuleVersion.region_code == code, RuleVersion.content_hash == digest).limit(1)
    ).scalar_one_or_none()


def _same_label(session: Session, code: str, version: str) -> RuleVersion | None:
    return session.execute(
        select(RuleVersion).where(RuleVersion.region_code == code, RuleVersion.version == version)
    ).scalar_one_or_none()


def _stored_or_clash(session: Session, region: RegionHeader, digest: str) -> tuple[RuleVersion | None,
                                                                                  RuleVersion | None]:
    """(the version holding this content, the version holding this label with other content).

    The label is read after the content, so a concurrent writer may commit this very content in
    between (READ COMMITTED): a label holding the same hash is that row, already stored, not a clash.
    """
    stored = _same_content(session, region.code, digest)
    if stored is not None:
        return stored, None
    label = _same_label(session, region.code, region.version)
    if label is not None and label.content_hash == digest:
        return label, None
    return None, label


def load_directory(db: Database, path: str | Path, actor: str) -> LoadReport:
    """Publish every new, valid file of a policies directory; report every problem.

    A file whose content is stored already is a no-op (so loading on every start is safe). A file
    with a problem, or one whose version label is taken by different content, is reported and
    skipped: the version already stored stays in force.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise RulebookError(f"not a directory: {directory}")
    texts = {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.toml"))}
    book = rulebook_from_texts(texts)
    report = LoadReport(problems=book.check())
    bad = {p.file for p in report.problems}
    for code in book.codes():
        filename = book.filenames[code]
        if filename in bad:
            continue
        region = book.files[code]
        outcome = _store_file(db, region, texts[filename], filename, actor)
        if isinstance(outcome, Problem):
            report.problems.append(outcome)
        else:
            (report.stored if outcome else report.unchanged).append(_label(region))
    return report


def _store_file(db: Database, region: RegionHeader, text: str, filename: str, actor: str) -> bool | Problem:
    """True when stored, False when already there, a Problem when the label is taken."""
    for _attempt in range(2):
        try:
            with _changing_what_is_in_force(db) as session:
                stored, clash = _stored_or_clash(session, region, content_hash(region))
                if stored is not None:
                    return False
                if clash is not None:
                    return Problem(filename, "version", f"version {region.version} is already stored "
                                   f"({clash.status}) with different content: give the file a new version")
                row = _row(region, text, status="published", source="file", actor=actor)
                row.published_by, row.published_at = actor, now_utc()
                session.add(row)
                session.flush()
                audit.record(session, actor, "rules.load", _label(region), file=filename,
                             effective_from=region.effective_from.isoformat(), hash=row.content_hash[:12])
                return True
        except IntegrityError:
            continue  # a concurrent load stored it first: look again
    raise RulebookError(f"could not store {filename}: it kept clashing with concurrent writes")


def _next_label(session: Session, code: str, today: date) -> str:
    taken = session.execute(select(RuleVersion.version).where(RuleVersion.region_code == code)).scalars()
    numbers = [int(m.group(1)) for v in taken if (m := re.fullmatch(rf"{today.year}\.(\d+)", v))]
    return f"{today.year}.{max(numbers, default=0) + 1}"


def create_draft(db: Database, region_code: str, actor: str, version: str | None = None, *,
                 today: date) -> RuleVersion:
    """A draft copy of the region's active version (or its latest published one) under a new label."""
    try:
        with db.transaction() as session:
            base = version_in_force(session, region_code, today) or _latest_published(session, region_code)
            if base is None:
                raise RulebookError(f"{region_code} 没有已发布的版本：请先导入一个 TOML 文件")
            label = (version or "").strip() or _next_label(session, region_code, today)
            region = parse_region(base.toml_text, base.filename).model_copy(
                update={"version": label, "effective_from": today})
            draft = _row(region, dump_toml(region), status="draft", source="admin", actor=actor)
            draft.based_on_id = base.id
            session.add(draft)
            session.flush()
            audit.record(session, actor, "rules.draft.create", _label(region), based_on=base.version)
            return draft
    except IntegrityError as exc:
        raise RulebookError(f"{region_code} 的版本号 {label} 已被使用") from exc


_STATUS_WORDS = {"draft": "是草稿", "published": "发布", "retired": "停用"}


def _draft(session: Session, draft_id: int) -> RuleVersion:
    draft = get_version(session, draft_id)
    if draft.status != "draft":
        raise RulebookError(f"{draft.region_code}@{draft.version} 已{_STATUS_WORDS[draft.status]}，不能再修改")
    return draft


def update_draft(db: Database, draft_id: int, text: str, actor: str, *, today: date) -> RuleVersion:
    """Replace a draft's text; raises ``RuleFileError`` (every problem, by field) and changes nothing."""
    try:
        with db.transaction() as session:
            draft = _draft(session, draft_id)
            region = parse_region(text, draft.filename)
            before = parse_region(draft.toml_text, draft.filename)
            canonical = dump_toml(region)
            candidate = _row(region, canonical, status="draft", source=draft.source, actor=actor)
            _check_resolves(session, candidate, today)
            changes = field_diff(plain(before), plain(region))
            for name in ("region_name", "parent_code", "version", "effective_from", "toml_text", "content_hash"):
                setattr(draft, name, getattr(candidate, name))
            session.flush()
            audit.record(session, actor, "rules.draft.update", _label(region), changes=summary(changes))
            return draft
    except IntegrityError as exc:
        raise RulebookError(f"版本号 {region.version} 已被使用") from exc


def discard_draft(db: Database, draft_id: int, actor: str) -> RuleVersion:
    """Retire a draft that will not be published (kept, like everything, for the record)."""
    with db.transaction() as session:
        draft = _draft(session, draft_id)
        draft.status, draft.retired_by, draft.retired_at = "retired", actor, now_utc()
        audit.record(session, actor, "rules.draft.discard", f"{draft.region_code}@{draft.version}")
        return draft


def publish(db: Database, draft_id: int, effective_from: date, actor: str, *, today: date) -> RuleVersion:
    """Publish a draft from ``effective_from`` on; a future date takes effect by itself.

    Dates before today are refused: what was in force on a past day must stay what quotes and
    reminders of that day used. Two publishers publishing the same draft at once: the conditional
    UPDATE lets exactly one through; the other gets a ``RulebookError``.
    """
    if effective_from < today:
        raise RulebookError(f"生效日期 {effective_from.isoformat()} 早于今天 {today.isoformat()}：不能追溯生效")
    with _changing_what_is_in_force(db) as session:
        draft = _draft(session, draft_id)
        region = parse_region(draft.toml_text, draft.filename)
        text = draft.toml_text
        if region.effective_from != effective_from:
            region = region.model_copy(update={"effective_from": effective_from})
            text = dump_toml(region)
        candidate = _row(region, text, status="published", source=draft.source, actor=actor)
        _check_resolves(session, candidate, effective_from)
        previous = version_in_force(session, draft.region_code, effective_from)
        changes = _changes(previous, region)
        result = session.execute(
            update(RuleVersion)
            .where(RuleVersion.id == draft_id, RuleVersion.status == "draft")
            .values(status="published", effective_from=effective_from, toml_text=text,
                    content_hash=candidate.content_hash, published_by=actor, published_at=now_utc())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise RulebookError(f"{_label(region)} 已被其他人发布或停用")
        audit.record(session, actor, "rules.publish", _label(region), effective_from=effective_from.isoformat(),
                     replaces=previous.version if previous else None, changes=summary(changes))
        session.expire(draft)
        session.refresh(draft)
        return draft


def _changes(previous: RuleVersion | None, region: RegionHeader) -> list[Change]:
    """What a publication changes in the region's own file (label and date are recorded apart)."""
    if previous is None:
        return []
    header = {"version", "effective_from"}
    return field_diff(plain(parse_region(previous.toml_text, previous.filename), header), plain(region, header))


def _published(session: Session, region_code: str) -> list[RuleVersion]:
    return list(session.execute(
        select(RuleVersion)
        .where(RuleVersion.region_code == region_code, RuleVersion.status == "published")
        .order_by(RuleVersion.effective_from.desc(), RuleVersion.published_at.desc(), RuleVersion.id.desc())
    ).scalars())


def _latest_published(session: Session, region_code: str) -> RuleVersion | None:
    published = _published(session, region_code)
    return published[0] if published else None


def rollback(db: Database, region_code: str, actor: str, expected_version_id: int | None = None) -> RuleVersion:
    """Retire the region's latest published version (in force or scheduled); the one before applies again.

    ``expected_version_id`` is the version the publisher saw as latest: if someone changed the region
    since, nothing happens, so two clicks never roll back two versions.
    """
    with _changing_what_is_in_force(db) as session:
        published = _published(session, region_code)
        if len(published) < 2:
            raise RulebookError(f"{region_code} 没有更早的已发布版本，无法回滚")
        latest, restored = published[0], published[1]
        if expected_version_id is not None and latest.id != expected_version_id:
            raise RulebookError("页面已过期：该地区的版本刚被修改，请刷新后再操作")
        result = session.execute(
            update(RuleVersion)
            .where(RuleVersion.id == latest.id, RuleVersion.status == "published")
            .values(status="retired", retired_by=actor, retired_at=now_utc())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise RulebookError("该版本已被其他人回滚")
        audit.record(session, actor, "rules.rollback", f"{region_code}@{latest.version}",
                     restored=restored.version, restored_effective_from=restored.effective_from.isoformat())
        session.expire(latest)
        session.refresh(latest)
        return latest


def export_toml(source: Session | Database, version_id: int) -> str:
    """The version's text exactly as stored: a loaded file comes back byte for byte."""
    if isinstance(source, Database):
        with source.reading() as session:
            return export_toml(session, version_id)
    return get_version(source, version_id).toml_text


def import_toml(db: Database, text: str, actor: str, *, today: date) -> tuple[RuleVersion, bool]:
    """Store a TOML text as a draft to review and publish; (version, created).

    Text whose content is stored already returns that version with ``created=False``; a label
    taken by different content is refused; an invalid text raises ``RuleFileError``.
    """
    region = parse_region(text)
    digest = content_hash(region)
    try:
        with db.transaction() as session:
            stored, clash = _stored_or_clash(session, region, digest)
            if stored is not None:
                return stored, False
            if clash is not None:
                raise RulebookError(f"{_label(region)} 已存在且内容不同：请在文件中换一个版本号")
            row = _row(region, text, status="draft", source="import", actor=actor)
            _check_resolves(session, row, max(today, region.effective_from))
            session.add(row)
            session.flush()
            audit.record(session, actor, "rules.import", _label(region), hash=digest[:12])
            return row, True
    except IntegrityError:
        with db.reading() as session:
            existing = _same_content(session, region.code, digest)
        if existing is None:
            raise RulebookError(f"{_label(region)} 已存在且内容不同：请在文件中换一个版本号") from None
        return existing, False
