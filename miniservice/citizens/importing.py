"""Import a registry export into people, contributions, resident premiums and account credits.

All or nothing: the whole file is checked first (:func:`~miniservice.citizens.import_format.parse_file`),
then written in one transaction; a problem that only the database can reveal (a 医保卡号 that
belongs to someone else, a credit that differs from one already booked) rolls everything back.
Re-importing the same file changes nothing: every row is an upsert on the table's unique key
(ID-number hash; person + month; person + year; the credit's request key), and the report counts
what was created, updated and left unchanged. The admin upload page calls :func:`import_records`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel

from miniservice import audit, state
from miniservice.citizens.identity import IdentityVault, mask_name
from miniservice.citizens.import_format import FileRejected, ImportRow, RowError, parse_file
from miniservice.citizens.ledger import LedgerItem, post_entries
from miniservice.citizens.models import Contribution, Person, ResidentPremium
from miniservice.clock import now_utc
from miniservice.db import Database
from miniservice.rules.money import ZERO

M = TypeVar("M", bound=SQLModel)
_CHUNK = 500


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


@dataclass
class ImportReport:
    """What an import did, or (``errors`` not empty) why it did nothing."""

    rows: int = 0
    persons: Counts = field(default_factory=Counts)
    contributions: Counts = field(default_factory=Counts)
    premiums: Counts = field(default_factory=Counts)
    credits: Counts = field(default_factory=Counts)
    errors: tuple[RowError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, dict[str, int]]:
        return {kind: asdict(getattr(self, kind)) for kind in ("persons", "contributions", "premiums", "credits")}

    def summary(self) -> list[str]:
        """Lines for the CLI and the admin page."""
        if not self.ok:
            return [f"导入失败，未写入任何数据（{len(self.errors)} 处错误）：", *(str(e) for e in self.errors)]
        labels = {"persons": "参保人", "contributions": "月度缴费", "premiums": "居民医保年度缴费",
                  "credits": "个人账户划入"}
        lines = [f"已导入 {self.rows} 行："]
        for kind, label in labels.items():
            c = getattr(self, kind)
            lines.append(f"  {label}：新增 {c.created}，更新 {c.updated}，未变 {c.unchanged}")
        return lines


def import_records(
    db: Database, data: bytes, actor: str, *, vault: IdentityVault | None = None, today: date | None = None,
    checked: Callable[[int], None] | None = None,
) -> ImportReport:
    """Check and import a CSV export (bytes as uploaded); one audit event either way.

    ``checked`` is told the number of clean rows once the whole file has passed its checks, before
    the write transaction opens (a background job records it as progress).
    """
    vault = vault or state.vault()
    today = today or state.clock().today()
    subject = "sha256:" + hashlib.sha256(data).hexdigest()[:16]
    try:
        rows = parse_file(data, today)
        if checked is not None:
            checked(len(rows))
        with db.transaction() as session:
            report = apply_rows(session, rows, vault)
            audit.record(session, actor, "records.import", subject, rows=report.rows, **report.counts())
        return report
    except FileRejected as exc:
        with db.transaction() as session:
            audit.record(session, actor, "records.import_rejected", subject, errors=len(exc.errors),
                         lines=sorted({e.line for e in exc.errors})[:50])
        return ImportReport(errors=exc.errors)


def apply_rows(session: Session, rows: Sequence[ImportRow], vault: IdentityVault) -> ImportReport:
    """Upsert checked rows inside the caller's transaction; raises FileRejected on a conflict."""
    report = ImportReport(rows=len(rows))
    people = _group_by_person(rows)
    hashes = {value: vault.lookup_hashes(value) for value in people}  # current key first
    owner = {digest: value for value, digests in hashes.items() for digest in digests}
    existing = {owner[p.id_number_hash]: p for p in _select_in(session, Person, Person.id_number_hash, owner)}
    _check_cards(session, people, existing, vault)
    person_ids: dict[str, int] = {}
    new_people: dict[str, dict[str, Any]] = {}
    for value, person_rows in people.items():
        found = existing.get(value)
        values = _person_values(person_rows, found, vault)
        if found is None:  # inserted below, all in one batch
            new_people[value] = {"id_number_hash": hashes[value][0], "created_at": now_utc(), **values}
            continue
        report.persons.add(_update(found, values))
        assert found.id is not None
        person_ids[value] = found.id
    session.flush()
    inserted = insert_new_rows(session, Person, list(new_people.values()), ("id_number_hash",))
    by_hash = {p.id_number_hash: p for p in _select_in(session, Person, Person.id_number_hash,
                                                          [row["id_number_hash"] for row in new_people.values()])}
    for value, row in new_people.items():
        person = by_hash[row["id_number_hash"]]
        if (row["id_number_hash"],) in inserted:
            report.persons.add("created")
        else:  # a concurrent import stored this person between our read and our insert
            report.persons.add(_update(person, {k: v for k, v in row.items() if k != "created_at"}))
        assert person.id is not None
        person_ids[value] = person.id
    _upsert_records(session, rows, person_ids, report)
    _post_credits(session, rows, person_ids, report)
    return report


def _group_by_person(rows: Iterable[ImportRow]) -> dict[str, list[ImportRow]]:
    people: dict[str, list[ImportRow]] = {}
    for row in rows:
        people.setdefault(row.person.id_number.value, []).append(row)
    return people


def _select_in(session: Session, model: type[M], column: Any, values: Iterable[Any]) -> Iterator[M]:
    items = list(values)
    for start in range(0, len(items), _CHUNK):
        yield from session.execute(select(model).where(column.in_(items[start:start + _CHUNK]))).scalars()


def _check_cards(session: Session, people: dict[str, list[ImportRow]], existing: dict[str, Person],
                 vault: IdentityVault) -> None:
    """A 医保卡号 already registered to another person is refused (binding relies on it)."""
    card_hashes = {digest: value for value, rows in people.items() if rows[0].person.card_number
                   for digest in vault.lookup_hashes(rows[0].person.card_number)}
    errors = []
    for other in _select_in(session, Person, Person.card_number_hash, card_hashes):
        value = card_hashes[other.card_number_hash or ""]
        found = existing.get(value)
        if found is None or other.id != found.id:
            errors.append(RowError(people[value][0].line, "card_number", "该医保卡号已登记在另一参保人名下"))
    if errors:
        raise FileRejected(errors)


def _person_values(rows: list[ImportRow], found: Person | None, vault: IdentityVault) -> dict[str, Any]:
    """The person as the file describes them: identity from any row, the rest from the latest one.

    Encrypted fields keep their stored token when the clear value is the same, so a re-import of
    the same file compares equal and writes nothing (Fernet tokens differ on every encryption); a
    hash made with an older look-up key is kept too (``rotate-data-key`` moves it).
    """
    latest_row = max(rows, key=lambda r: (r.month, not r.is_resident_year))
    latest = latest_row.person
    id_number = latest.id_number

    def sealed(attribute: str, clear: str | None) -> str | None:
        stored = getattr(found, attribute) if found is not None else None
        if clear is None:
            return None
        if stored is not None and vault.decrypt(stored) == clear:
            return stored
        return vault.encrypt(clear)

    def hashed(attribute: str, clear: str | None) -> str | None:
        if clear is None:
            return None
        digests = vault.lookup_hashes(clear)
        return getattr(found, attribute) if found is not None and getattr(found, attribute) in digests else digests[0]

    earliest = min(r.month for r in rows).first_day
    enrolled = latest.enrolled_from.first_day if latest.enrolled_from else earliest
    if latest.enrolled_from is None and found is not None:
        enrolled = min(enrolled, found.enrolled_since)
    return {
        "id_number_cipher": sealed("id_number_cipher", id_number.value),
        "id_number_masked": id_number.masked,
        "name_cipher": sealed("name_cipher", latest.name),
        "name_masked": mask_name(latest.name),
        "phone_cipher": sealed("phone_cipher", latest.phone),
        "card_number_hash": hashed("card_number_hash", latest.card_number),
        "card_number_cipher": sealed("card_number_cipher", latest.card_number),
        "region_code": latest.region_code,
        "scheme": "retiree" if latest.retired_on else latest_row.scheme,
        "employer": latest.employer,
        "unemployed": latest.unemployed,
        "enrolled_since": enrolled,
        "retired_on": latest.retired_on,
        "deemed_months": latest.deemed_months,
    }


def _update(found: SQLModel, values: dict[str, Any]) -> str:
    changed = {name: value for name, value in values.items() if getattr(found, name) != value}
    for name, value in changed.items():
        setattr(found, name, value)
    return "updated" if changed else "unchanged"


def insert_new_rows(session: Session, model: type[SQLModel], rows: list[dict[str, Any]],
                    key_names: tuple[str, ...]) -> set[tuple[Any, ...]]:
    """INSERT … ON CONFLICT DO NOTHING RETURNING the keys of the rows really inserted.

    One executemany for a whole batch; RETURNING says *which* rows went in, which a count cannot.
    """
    if not rows:
        return set()
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = dialect.insert(model).on_conflict_do_nothing().returning(*(getattr(model, k) for k in key_names))
    # executemany with RETURNING: SQLAlchemy batches it ("insertmanyvalues") from one cached statement.
    return {tuple(row) for row in session.connection().execute(statement, rows)}


def _upsert_records(session: Session, rows: Sequence[ImportRow], person_ids: dict[str, int],
                    report: ImportReport) -> None:
    """Update the months and years already stored; insert the rest in bulk."""
    ids = set(person_ids.values())
    stored: dict[tuple[type[SQLModel], int, int], SQLModel] = {}
    stored.update(((Contribution, c.person_id, c.month), c)
                  for c in _select_in(session, Contribution, Contribution.person_id, ids))
    stored.update(((ResidentPremium, p.person_id, p.year), p)
                  for p in _select_in(session, ResidentPremium, ResidentPremium.person_id, ids))
    new: dict[type[SQLModel], list[dict[str, Any]]] = {Contribution: [], ResidentPremium: []}
    for row in rows:
        model, key, values = _record_values(row, person_ids[row.person.id_number.value])
        found = stored.get((model, *key))
        if found is None:
            new[model].append(values)
        else:
            _counts(report, model).add(_update(found, values))
    for model, key_names in ((Contribution, ("person_id", "month")), (ResidentPremium, ("person_id", "year"))):
        inserted = insert_new_rows(session, model, new[model], key_names)
        for values in new[model]:
            key = tuple(values[name] for name in key_names)
            if key in inserted:
                _counts(report, model).add("created")
            else:  # a concurrent import stored it between our read and our insert
                found = session.execute(select(model).filter_by(**dict(zip(key_names, key, strict=True)))).scalar_one()
                _counts(report, model).add(_update(found, values))


def _record_values(row: ImportRow, person_id: int) -> tuple[type[SQLModel], tuple[int, int], dict[str, Any]]:
    paid = {"person_id": person_id, "paid_on": row.paid_on, "payer": row.payer, "status": row.status}
    if row.is_resident_year:
        return ResidentPremium, (person_id, row.month.year), {"year": row.month.year, "amount": row.personal_amount,
                                                              **paid}
    return Contribution, (person_id, row.month.index), {
        "month": row.month.index, "scheme": row.scheme, "base": row.base, "unit_amount": row.unit_amount,
        "personal_amount": row.personal_amount, **paid}


def _counts(report: ImportReport, model: type[SQLModel]) -> Counts:
    return report.premiums if model is ResidentPremium else report.contributions


def credit_key(person_id: int, row: ImportRow) -> str:
    """The ledger request key of an imported monthly credit: one credit per person-month, ever."""
    return f"import:credit:{person_id}:{row.month}"


def _post_credits(session: Session, rows: Sequence[ImportRow], person_ids: dict[str, int],
                  report: ImportReport) -> None:
    """One ledger posting per person (their months in order); a changed amount is refused."""
    by_person: dict[int, list[ImportRow]] = {}
    for row in sorted(rows, key=lambda r: r.month):
        if row.account_credit:
            by_person.setdefault(person_ids[row.person.id_number.value], []).append(row)
    errors = []
    for pid, credited in by_person.items():
        items = [LedgerItem(row.account_credit or ZERO, f"{row.month} 个人账户划入", credit_key(pid, row))
                 for row in credited]
        for row, posting in zip(credited, post_entries(session, pid, items), strict=True):
            if posting.created:
                report.credits.add("created")
            elif posting.entry.amount == row.account_credit:
                report.credits.add("unchanged")
            else:
                errors.append(RowError(row.line, "account_credit", f"该月已入账 {posting.entry.amount} 元；"
                                       "账户流水不可修改，更正请由经办机构另做调整"))
    if errors:
        raise FileRejected(errors)
