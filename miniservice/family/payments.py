"""Paying a linked relative's premium or back-payment from the holder's personal account.

One payment is one transaction: the payment row (unique ``request_key``) is written first, so a
replayed or double-clicked form waits on that key inside the database and then returns the first
result without a second effect; the relative's year or months are marked paid by ``family`` only if
they are still unpaid (a conditional write, so two holders cannot both pay them); the debit goes
through :func:`miniservice.citizens.ledger.post_entry`, which locks the holder's account row before
it reads the balance (the CHECK ``balance >= 0`` is the last line, never the first). Any refusal
rolls everything back.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select, update
from sqlmodel import Session

from miniservice.audit import record
from miniservice.citizens.ledger import InsufficientBalance, post_entry
from miniservice.citizens.models import AccountEntry, Contribution, Person, PersonalAccount, ResidentPremium
from miniservice.db import Database, IntegrityError
from miniservice.family.dues import Due, relative_status
from miniservice.family.errors import FamilyError
from miniservice.family.models import FamilyLink, FamilyPayment
from miniservice.family.people import openid_of, require_holder
from miniservice.messages import text
from miniservice.outbox import enqueue
from miniservice.rules.money import format_yuan, parse_money, to_fen
from miniservice.rules.months import Month

_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")

STALE_PAGE = "页面已失效，请返回家庭共济页面刷新后重试。"
INSUFFICIENT = "个人账户余额不足，无法完成本次缴费。"


def new_request_key() -> str:
    """The hidden field of a pay form: one per rendered form, so a resubmission is recognised."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True, slots=True)
class PayRequest:
    link_id: int
    item: str  # Due.item, e.g. "premium:2026"
    amount: str  # the amount the page showed; a changed price is refused, not silently charged
    request_key: str


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    payment: FamilyPayment
    relative_masked_name: str
    balance_after: Decimal
    replayed: bool

    @property
    def first_month(self) -> Month | None:
        return None if self.payment.first_month is None else Month.from_index(self.payment.first_month)

    @property
    def last_month(self) -> Month | None:
        return None if self.payment.last_month is None else Month.from_index(self.payment.last_month)


def _by_key(session: Session, key: str) -> FamilyPayment | None:
    return session.execute(select(FamilyPayment).where(FamilyPayment.request_key == key)).scalar_one_or_none()


def _replay(db: Database, key: str, holder_id: int) -> PaymentOutcome | None:
    """The first result for ``key``, when it exists and belongs to this holder."""
    with db.reading() as session:
        payment = _by_key(session, key)
        if payment is None:
            return None
        if payment.holder_id != holder_id:
            raise FamilyError(STALE_PAGE)
        relative = session.get(Person, payment.relative_id)
        entry = session.get(AccountEntry, payment.account_entry_id)
        assert relative is not None and entry is not None
        return PaymentOutcome(payment, relative.name_masked, entry.balance_after, replayed=True)


def _priced(session: Session, holder: Person, request: PayRequest, today: date) -> tuple[FamilyLink, Person, Due]:
    """The link and the item as priced now; refuses anything the page should not have offered."""
    link = session.get(FamilyLink, request.link_id)
    if link is None or link.holder_id != holder.id:
        raise FamilyError("只能为与您绑定的亲属缴费。", status=403)
    if link.status != "active":
        raise FamilyError("与该亲属的家庭共济绑定尚未生效或已解除，不能缴费。", status=409)
    relative = session.get(Person, link.relative_id)
    assert relative is not None
    due = relative_status(session, relative, today, holder.id or 0).due(request.item)
    if due is None:
        raise FamilyError("该项目已缴纳或当前无需缴纳，请刷新页面查看最新状态。", status=409)
    try:
        shown = to_fen(parse_money(request.amount))
    except (ValueError, TypeError):
        raise FamilyError(STALE_PAGE) from None
    if shown != due.amount:
        raise FamilyError(f"应缴金额已更新为 {format_yuan(due.amount)} 元，请刷新页面确认后再缴费。", status=409)
    return link, relative, due


def _mark_paid(session: Session, relative: Person, holder: Person, due: Due, today: date) -> None:
    """The relative's year or months become paid by ``family``, only if nobody has paid them meanwhile.

    A row the registry holds as ``unpaid`` is updated; a missing row is inserted, and the unique key
    (person, year / month) refuses it when someone else has just paid.
    """
    paid = {"paid_on": today, "payer": "family", "payer_person_id": holder.id}
    if due.kind == "premium":
        rows = [(ResidentPremium, {"person_id": relative.id, "year": due.year},
                 {"amount": due.amount, "status": "paid", **paid})]
    else:
        rows = [
            (Contribution, {"person_id": relative.id, "month": line.month.index},
             {"scheme": relative.scheme, "base": to_fen(line.base), "unit_amount": to_fen(line.unit_amount),
              "personal_amount": to_fen(line.personal_amount), "status": "back_paid", **paid})
            for line in due.lines
        ]
    for model, keys, values in rows:
        # An UPDATE's row count is reliable on every backend; the unique key decides for a missing row.
        changed = session.execute(
            update(model)
            .filter_by(**keys, status="unpaid")
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if changed.rowcount == 1:
            continue
        session.add(model(**keys, **values))
        try:
            session.flush()
        except IntegrityError:
            raise FamilyError("该项目刚刚已被缴纳，无需重复缴费。", status=409) from None


def _debit(session: Session, holder: Person, amount: Decimal, reason: str, key: str) -> AccountEntry:
    """Take ``amount`` from the holder's account through the one ledger every entry goes through
    (locks the account row, then checks the balance), or refuse with the citizen's message."""
    assert holder.id is not None
    try:
        return post_entry(session, holder.id, -amount, reason, f"family:{key}").entry
    except InsufficientBalance:
        raise FamilyError(INSUFFICIENT, status=409) from None


@dataclass(frozen=True, slots=True)
class PaymentPreview:
    """What the confirmation step states before anything is debited."""

    relative_masked_name: str
    due: Due
    balance: Decimal
    balance_after: Decimal


def preview(db: Database, openid: str, request: PayRequest, today: date) -> PaymentPreview:
    """The payment ``request`` would make, priced now and checked as :func:`pay` checks it; writes nothing.
    A key already used answers as :func:`pay` would: the first result, so the page shows it was paid."""
    if not _KEY_RE.match(request.request_key or ""):
        raise FamilyError(STALE_PAGE)
    with db.reading() as session:
        holder = require_holder(session, openid)
        if _by_key(session, request.request_key) is not None:
            raise FamilyError("该笔缴费已经完成，请返回家庭共济页面查看。", status=409)
        _, relative, due = _priced(session, holder, request, today)
        account = session.get(PersonalAccount, holder.id)
        balance = account.balance if account else Decimal(0)
    if balance < due.amount:
        raise FamilyError(INSUFFICIENT, status=409)
    return PaymentPreview(relative.name_masked, due, balance, balance - due.amount)


def pay(db: Database, openid: str, request: PayRequest, today: date) -> PaymentOutcome:
    """Pay ``request.item`` for a linked relative once per request key; a replay returns the first result."""
    if not _KEY_RE.match(request.request_key or ""):
        raise FamilyError(STALE_PAGE)
    with db.reading() as session:
        holder = require_holder(session, openid)
    replayed = _replay(db, request.request_key, holder.id)
    if replayed is not None:
        return replayed
    try:
        with db.reading() as session:
            link, relative, due = _priced(session, holder, request, today)
    except FamilyError:
        # A replay that arrives while the first request commits finds nothing above, then finds the
        # item paid: it is still a replay, and gets the first result rather than "already paid".
        replayed = _replay(db, request.request_key, holder.id)
        if replayed is not None:
            return replayed
        raise
    context = {"relative": relative.name_masked, "holder": holder.name_masked, "kind": due.kind, "year": due.year,
               "first": due.first, "last": due.last, "amount": due.amount}
    try:
        with db.transaction() as session:
            payment = FamilyPayment(
                request_key=request.request_key, link_id=link.id, holder_id=holder.id, relative_id=relative.id,
                kind=due.kind, amount=due.amount, year=due.year,
                first_month=due.first.index if due.first else None, last_month=due.last.index if due.last else None,
            )
            session.add(payment)
            session.flush()  # a concurrent replay of this key waits here, then fails on the unique key
            # FOR NO KEY UPDATE: the payment row's foreign key already holds KEY SHARE on the link, which
            # a plain FOR UPDATE would wait on in a concurrent payment (a deadlock); this still waits for a
            # revocation in progress, then sees its outcome.
            still_active = session.execute(
                select(FamilyLink.status).where(FamilyLink.id == link.id).with_for_update(key_share=True)
            ).scalar_one()
            if still_active != "active":
                raise FamilyError("与该亲属的家庭共济绑定已解除，不能缴费。", status=409)
            _mark_paid(session, relative, holder, due, today)
            entry = _debit(session, holder, due.amount, text("family_entry_reason.txt", **context), request.request_key)
            payment.account_entry_id = entry.id
            record(session, f"citizen:#{holder.id}", "family.payment", f"family_payment:{payment.id}",
                   link_id=link.id, relative_person_id=relative.id, relative_name=relative.name_masked,
                   item=due.item, amount=str(due.amount))
            enqueue(session, f"family-payment:{payment.id}:holder", openid, "family_paid_holder.txt",
                    balance=entry.balance_after, **context)
            enqueue(session, f"family-payment:{payment.id}:relative", openid_of(session, relative.id),
                    "family_paid_relative.txt", **context)
    except IntegrityError:
        replayed = _replay(db, request.request_key, holder.id)
        if replayed is None:
            raise
        return replayed
    return PaymentOutcome(payment, relative.name_masked, entry.balance_after, replayed=False)
