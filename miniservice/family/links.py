"""Linking a relative to a holder's personal account, the relative's consent, and revocation.

Each function is one business step in one transaction. The unique ``active_key`` decides whether a
pair is already linked (not a prior SELECT), the holder's account row is locked before their links
are counted, and every step writes the audit trail with masked values only. Messages are put in the outbox
(:mod:`miniservice.outbox`) in the step's own transaction and sent later by its worker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlmodel import Session

from miniservice import state
from miniservice.audit import record
from miniservice.citizens.attempts import TooManyAttempts, get_limiter
from miniservice.citizens.identity import InvalidIdentity, normalise_name, parse_id_number
from miniservice.citizens.lookup import person_by_id_number
from miniservice.citizens.models import Person
from miniservice.clock import now_utc
from miniservice.config import Settings
from miniservice.db import Database, IntegrityError
from miniservice.family.consent import request_consent
from miniservice.family.errors import FamilyError
from miniservice.family.models import OPEN_STATUSES, FamilyConsent, FamilyLink, active_key
from miniservice.family.people import lock_holder, openid_of, require_holder, require_person
from miniservice.family.policy import RELATION_LABELS, FamilyTerms, family_terms
from miniservice.outbox import enqueue
from miniservice.rules.months import add_months_to_date
from miniservice.rules.schema import Relation

ADULT_AGE_MONTHS = 18 * 12
_CARD_RE = re.compile(r"^[0-9A-Z]{6,30}$")

NOT_FOUND = "未找到与所填姓名、身份证号码和医保卡号相符的参保人员，请核对后重试。"
TOO_MANY_GUESSES = "核对失败次数过多，为保护参保人信息安全，请于 {retry_at} 后再试。"
ALREADY_LINKED = "该亲属已与您绑定或正在等待对方确认，无需重复添加。"
ATTESTATION_NEEDED = "该亲属是未成年子女或未在本公众号绑定身份，需由您勾选“本人承诺已取得亲属同意”后办理。"


@dataclass(frozen=True, slots=True)
class LinkRequest:
    """What the holder typed on the form (raw; validated by :func:`add_link`)."""

    name: str
    id_number: str
    card_number: str
    relationship: str
    attested: bool


@dataclass(frozen=True, slots=True)
class LinkOutcome:
    link: FamilyLink
    relative_masked_name: str
    needs_consent: bool


def normalise_card(text: str) -> str:
    card = re.sub(r"[\s-]", "", text or "").upper()
    if not _CARD_RE.match(card):
        raise InvalidIdentity("医保卡号应为 6 到 30 位数字或字母。")
    return card


def is_minor(birth_date: date, today: date) -> bool:
    return today < add_months_to_date(birth_date, ADULT_AGE_MONTHS)


def _relation(value: str, terms: FamilyTerms) -> Relation:
    try:
        relation = Relation(value)
    except ValueError:
        raise FamilyError("请选择与该亲属的关系。") from None
    if not terms.allows(relation):
        allowed = "、".join(RELATION_LABELS[r] for r in terms.relationships)
        raise FamilyError(f"您所在地区暂不支持为“{RELATION_LABELS[relation]}”办理家庭共济，目前可绑定：{allowed}。")
    return relation


class _NoMatch(FamilyError):
    """Name, ID number and card do not all match one person: a failed guess, counted."""

    def __init__(self, holder_id: int | None) -> None:
        super().__init__(NOT_FOUND)
        self.holder_id = holder_id


def _guessed_id_hash(request: LinkRequest) -> str:
    """The look-up hash of the typed ID number, the key its guesses are counted under."""
    try:
        return state.vault().lookup_hash(parse_id_number(request.id_number).value)
    except InvalidIdentity as exc:
        raise FamilyError(str(exc)) from None


def _find_relative(session: Session, request: LinkRequest, holder_id: int | None) -> tuple[Person, date]:
    try:
        id_number = parse_id_number(request.id_number)
        name = normalise_name(request.name)
        card = normalise_card(request.card_number)
    except InvalidIdentity as exc:
        raise FamilyError(str(exc)) from None
    vault = state.vault()
    relative = person_by_id_number(session, vault, id_number.value)
    if (
        relative is None
        or vault.decrypt(relative.name_cipher) != name
        or relative.card_number_hash not in vault.lookup_hashes(card)
    ):
        raise _NoMatch(holder_id)  # one message for every partial match, so none is confirmed
    return relative, id_number.birth_date


def _expire_stale(session: Session, holder_id: int, now: datetime) -> None:
    """Pending links whose consent window has closed end as ``expired`` and free their key.

    Runs after :func:`lock_holder`, so nobody else changes this holder's links meanwhile.
    """
    unanswered = select(FamilyConsent.link_id).where(
        FamilyConsent.answered_at.is_(None), FamilyConsent.expires_at < now
    )
    stale = session.execute(
        select(FamilyLink.id).where(
            FamilyLink.holder_id == holder_id, FamilyLink.status == "pending", FamilyLink.id.in_(unanswered)
        )
    ).scalars().all()
    if not stale:
        return
    session.execute(
        update(FamilyLink)
        .where(FamilyLink.id.in_(stale))
        .values(status="expired", active_key=None, ended_at=now)
        .execution_options(synchronize_session=False)
    )
    for link_id in stale:
        record(session, "system:family", "family.consent.expire", f"family_link:{link_id}", holder_person_id=holder_id)


def _consent_mode(relation: Relation, born: date, today: date, relative_openid: str | None, attested: bool) -> str:
    """A minor child, or a relative not on WeChat, is linked on the holder's word; anyone else must agree."""
    minor_child = relation is Relation.CHILD and is_minor(born, today)
    if (minor_child or relative_openid is None) and not attested:
        raise FamilyError(ATTESTATION_NEEDED)
    if minor_child:
        return "attested_minor"
    return "attested_offline" if relative_openid is None else "wechat"


def _make_room(session: Session, holder: Person, terms: FamilyTerms, now: datetime) -> None:
    """Lock the holder, let stale requests expire, then refuse when the region's maximum is reached."""
    lock_holder(session, holder.id)
    _expire_stale(session, holder.id, now)
    open_links = session.execute(
        select(func.count()).where(FamilyLink.holder_id == holder.id, FamilyLink.status.in_(OPEN_STATUSES))
    ).scalar_one()
    if open_links >= terms.max_links:
        raise FamilyError(f"每位参保人最多可绑定 {terms.max_links} 位亲属，请先解除不再需要的绑定。")


def add_link(db: Database, settings: Settings, openid: str, request: LinkRequest, today: date) -> LinkOutcome:
    """Link a relative to the visitor's account: at once (attested), or pending the relative's consent.

    Name + ID number + card is the same secret binding asks for, so guesses at it are limited by the
    same counter (:mod:`miniservice.citizens.attempts`, per WeChat user and per ID number, shared
    with binding) and every failed one is audited.
    """
    now = now_utc()
    limiter = get_limiter()
    try:
        reservation = limiter.reserve(openid, _guessed_id_hash(request), now)
    except TooManyAttempts as exc:
        with db.transaction() as session:
            record(session, "citizen:anonymous", "family.link_refused", f"openid:{openid[:64]}", reason="too_many")
        retry_at = exc.retry_at.astimezone(ZoneInfo(settings.timezone)).strftime("%H:%M")
        raise FamilyError(TOO_MANY_GUESSES.format(retry_at=retry_at), status=429) from None
    try:
        outcome = _add_link(db, settings, openid, request, now, today)
    except _NoMatch as refused:
        left = limiter.fail(reservation, "family_mismatch", now)
        with db.transaction() as session:
            record(session, f"citizen:#{refused.holder_id}", "family.link_refused", f"openid:{openid[:64]}",
                   reason="mismatch", attempts_left=left)
        raise
    except BaseException:
        limiter.release(reservation)  # refused for another reason than the guess: it does not count
        raise
    limiter.release(reservation)
    return outcome


def _add_link(db: Database, settings: Settings, openid: str, request: LinkRequest, now: datetime,
              today: date) -> LinkOutcome:
    try:
        with db.transaction() as session:
            holder = require_holder(session, openid)
            terms = family_terms(session, holder.region_code, today)
            relation = _relation(request.relationship, terms)
            relative, born = _find_relative(session, request, holder.id)
            if relative.id == holder.id:
                raise FamilyError("不能绑定本人，请填写亲属的信息。")
            if not terms.covers(holder.region_code, relative.region_code):
                raise FamilyError("该亲属不在您的家庭共济范围内参保（需在本省参保），暂不能绑定。")
            relative_openid = openid_of(session, relative.id)
            mode = _consent_mode(relation, born, today, relative_openid, request.attested)
            _make_room(session, holder, terms, now)
            pending = mode == "wechat"
            link = FamilyLink(holder_id=holder.id, relative_id=relative.id, relationship=relation.value,
                              consent_mode=mode, status="pending" if pending else "active",
                              activated_at=None if pending else now, active_key=active_key(holder.id, relative.id))
            session.add(link)
            session.flush()  # a second open link for the pair fails here, on the unique active_key
            if pending:
                assert relative_openid is not None
                request_consent(session, settings, link, holder, relative_openid, now)
            record(session, f"citizen:#{holder.id}", "family.link", f"family_link:{link.id}",
                   relative_person_id=relative.id, relative_name=relative.name_masked,
                   relative_id_number=relative.id_number_masked, relationship=relation.value,
                   consent_mode=mode, status=link.status)
    except IntegrityError:
        raise FamilyError(ALREADY_LINKED) from None
    return LinkOutcome(link, relative.name_masked, pending)


def terms_for_holder(db: Database, openid: str, today: date) -> FamilyTerms:
    """The visitor's region's 家庭共济 terms, once they are known to be a holder (for the add form)."""
    with db.reading() as session:
        holder = require_holder(session, openid)
        return family_terms(session, holder.region_code, today)


@dataclass(frozen=True, slots=True)
class RevocationPreview:
    """What the confirmation step names: the other person and whether this side pays for them."""

    link_id: int
    other_masked_name: str
    relationship: str
    as_holder: bool


def link_for_revocation(db: Database, openid: str, link_id: int) -> RevocationPreview:
    """The open link ``revoke_link`` would end, checked as it checks it; writes nothing."""
    with db.reading() as session:
        person = require_person(session, openid)
        link = session.get(FamilyLink, link_id)
        if link is None or person.id not in (link.holder_id, link.relative_id):
            raise FamilyError("只能解除与您本人有关的家庭共济绑定。", status=403)
        if link.status not in OPEN_STATUSES:
            raise FamilyError("该绑定已经解除，无需重复操作。", status=409)
        as_holder = person.id == link.holder_id
        other = session.get(Person, link.relative_id if as_holder else link.holder_id)
        assert other is not None
        return RevocationPreview(link.id, other.name_masked, RELATION_LABELS[Relation(link.relationship)], as_holder)


def revoke_link(db: Database, openid: str, link_id: int) -> FamilyLink:
    """Either side ends a pending or active link; the row stays, with who ended it and when."""
    now = now_utc()
    with db.transaction() as session:
        person = require_person(session, openid)
        link = session.get(FamilyLink, link_id)
        if link is None or person.id not in (link.holder_id, link.relative_id):
            raise FamilyError("只能解除与您本人有关的家庭共济绑定。", status=403)
        previous = link.status
        changed = session.execute(
            update(FamilyLink)
            .where(FamilyLink.id == link.id, FamilyLink.status.in_(OPEN_STATUSES))
            .values(status="revoked", active_key=None, ended_at=now, ended_by_person_id=person.id)
        )
        if changed.rowcount != 1:
            raise FamilyError("该绑定已经解除，无需重复操作。", status=409)
        other_id = link.relative_id if person.id == link.holder_id else link.holder_id
        record(
            session,
            f"citizen:#{person.id}",
            "family.revoke",
            f"family_link:{link.id}",
            by="holder" if person.id == link.holder_id else "relative",
            other_person_id=other_id,
            previous_status=previous,
        )
        enqueue(session, f"family-revoke:{link.id}", openid_of(session, other_id), "family_revoked.txt",
                by=person.name_masked)
        session.refresh(link)
    return link


def set_reminders(db: Database, openid: str, link_id: int, enabled: bool) -> None:
    """The holder's opt-in to be reminded of this relative's coming gaps (read by the reminders planner)."""
    with db.transaction() as session:
        holder = require_person(session, openid)
        changed = session.execute(
            update(FamilyLink)
            .where(FamilyLink.id == link_id, FamilyLink.holder_id == holder.id, FamilyLink.status == "active")
            .values(remind_gaps=enabled)
        )
        if changed.rowcount != 1:
            raise FamilyError("只能为您已生效的家庭共济绑定设置提醒。", status=403)
        record(
            session,
            f"citizen:#{holder.id}",
            "family.reminders.on" if enabled else "family.reminders.off",
            f"family_link:{link_id}",
        )
