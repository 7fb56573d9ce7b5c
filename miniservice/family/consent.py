"""The relative's side of a link: the consent request, the page that answers it, once and in time.

The page's address carries a 256-bit random token; only its SHA-256 is stored, and only the
relative's own openid may open it, so a forwarded message cannot be answered by someone else.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from miniservice.audit import record
from miniservice.citizens.models import Person
from miniservice.clock import now_utc
from miniservice.config import Settings
from miniservice.db import Database
from miniservice.family.errors import FamilyError
from miniservice.family.models import FamilyConsent, FamilyLink
from miniservice.family.people import openid_of
from miniservice.family.policy import RELATION_LABELS
from miniservice.outbox import enqueue
from miniservice.rules.schema import Relation

CONSENT_DAYS = 7


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_consent(
    session: Session, settings: Settings, link: FamilyLink, holder: Person, openid: str, now: datetime
) -> FamilyConsent:
    """Store the request for a pending link and put the relative's message in the outbox.

    The message carries the only copy of the token (only its hash is stored), so it is composed here.
    """
    token = secrets.token_urlsafe(32)
    consent = FamilyConsent(link_id=link.id, token_hash=token_hash(token), openid=openid, sent_at=now,
                            expires_at=now + timedelta(days=CONSENT_DAYS))
    session.add(consent)
    session.flush()
    enqueue(session, f"family-consent:{consent.id}", openid, "family_consent_request.txt",
            holder=holder.name_masked, relationship=RELATION_LABELS[Relation(link.relationship)],
            days=CONSENT_DAYS, url=f"{settings.public_base_url}/h5/family/consent/{token}")
    return consent


@dataclass(frozen=True, slots=True)
class ConsentView:
    """What the consent page shows: who asks, as what, and until when."""

    consent: FamilyConsent
    link: FamilyLink
    holder_masked_name: str
    relationship: str
    expired: bool


def _consent_for(session: Session, token: str, openid: str) -> tuple[FamilyConsent, FamilyLink]:
    consent = session.execute(
        select(FamilyConsent).where(FamilyConsent.token_hash == token_hash(token))
    ).scalar_one_or_none()
    if consent is None:
        raise FamilyError("该确认链接无效，请使用公众号消息中的链接打开。", status=404)
    if not secrets.compare_digest(consent.openid, openid):
        raise FamilyError("此确认页面仅限被绑定的亲属本人打开。", status=403)
    link = session.get(FamilyLink, consent.link_id)
    assert link is not None
    return consent, link


def view_consent(db: Database, token: str, openid: str) -> ConsentView:
    with db.reading() as session:
        consent, link = _consent_for(session, token, openid)
        holder = session.get(Person, link.holder_id)
        assert holder is not None
        return ConsentView(
            consent,
            link,
            holder.name_masked,
            RELATION_LABELS[Relation(link.relationship)],
            consent.expires_at <= now_utc(),
        )


def answer_consent(db: Database, token: str, openid: str, accept: bool) -> FamilyLink:
    """The relative accepts (link becomes active) or declines (link ends); only once, only in time."""
    now = now_utc()
    with db.transaction() as session:
        consent, link = _consent_for(session, token, openid)
        if consent.answered_at is not None:
            raise FamilyError("您已答复过该请求，无需重复操作。", status=409)
        if consent.expires_at <= now:
            raise FamilyError(f"该请求已超过 {CONSENT_DAYS} 天有效期，请亲属重新发起绑定。", status=410)
        answered = session.execute(
            update(FamilyConsent)
            .where(FamilyConsent.id == consent.id, FamilyConsent.answered_at.is_(None))
            .values(answered_at=now, answer="accepted" if accept else "declined")
        )
        if answered.rowcount != 1:
            raise FamilyError("您已答复过该请求，无需重复操作。", status=409)
        values = (
            {"status": "active", "activated_at": now}
            if accept
            else {"status": "declined", "active_key": None, "ended_at": now, "ended_by_person_id": link.relative_id}
        )
        changed = session.execute(
            update(FamilyLink).where(FamilyLink.id == link.id, FamilyLink.status == "pending").values(**values)
        )
        if changed.rowcount != 1:
            raise FamilyError("该绑定已被对方撤销，无需再确认。", status=409)
        relative = session.get(Person, link.relative_id)
        assert relative is not None
        record(
            session,
            f"citizen:#{link.relative_id}",
            "family.consent.accept" if accept else "family.consent.decline",
            f"family_link:{link.id}",
            holder_person_id=link.holder_id,
        )
        enqueue(session, f"family-consent-answer:{consent.id}", openid_of(session, link.holder_id),
                "family_consent_answered.txt", relative=relative.name_masked, accepted=accept)
        session.refresh(link)
    return link
