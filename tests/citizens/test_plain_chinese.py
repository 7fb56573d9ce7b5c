"""No English, key paths or file names anywhere a citizen looks: every page and every message, for
every demo citizen and a visitor who has not bound.

A "Latin word" is two or more Latin letters in a row. Allowed: URLs (links in messages), ``APP`` (as
the rule files name the national app) and the two letters of a masked ID number's check digit do not
occur (masked IDs end in digits or X, a single letter). The 计算依据 lists (elements of class
``citation``, the source registry's wording) are checked by a test of their own.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any, ClassVar

import pytest
from flask import Flask

from miniservice import state
from miniservice.citizens.demo_data import DemoPerson
from miniservice.devtools.fake_wechat import FakeWeChat
from miniservice.devtools.simulator import Simulator
from miniservice.family.overview import overview
from miniservice.rules.loading import load_rulebook, sourced_nodes
from tests.citizens.conftest import TODAY, sign_in
from tests.rules.helpers import POLICIES

LATIN = re.compile(r"[A-Za-z]{2,}")
ARTICLE_WORDS = re.compile(r"文章|种子|seed", re.IGNORECASE)
ALLOWED = {"APP"}
URL = re.compile(r"https?://\S+")
OPENIDS = ["demo_visitor", *(f"demo_citizen_{n}" for n in range(1, 9))]
PAGES = ["/h5/bind", "/h5/records", "/h5/quote", "/h5/resident", "/h5/family", "/h5/family/add", "/h5/nowhere",
         "/h5/quote?region=440300&scheme=flexible&first=2026-07&last=2026-10&cause=self",
         "/h5/quote?region=440300&scheme=flexible&first=2026-13&last=2026-10&cause=self",
         "/h5/quote?region=350200&scheme=resident"]
MENU_KEYS = ["RECORDS", "QUOTE", "REMINDERS_ON", "REMINDERS_OFF", "HELP", "CHANNELS"]
TYPED = ["家庭共济", "人工客服", "办理渠道", "你好，请问怎么报销"]


class _ShownText(HTMLParser):
    """What a reader sees: text, placeholders, button values, titles; ``citations``: 计算依据 only."""

    VOID: ClassVar[set[str]] = {"input", "meta", "link", "br", "img", "hr"}

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[str] = []
        self.citations: list[str] = []
        self._stack: list[tuple[str, bool, bool]] = []  # (tag, hidden, citation)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        hidden_above = any(h for _, h, _ in self._stack)
        citation_above = any(c for _, _, c in self._stack)
        hidden = hidden_above or tag in ("head", "script", "style") or a.get("type") == "hidden"
        citation = citation_above or "citation" in (a.get("class") or "")
        target = self.citations if citation else self.shown
        if not hidden:
            for name in ("placeholder", "title", "aria-label", "alt"):
                if a.get(name):
                    target.append(str(a[name]))
            if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
                target.append(str(a["value"]))
        if tag not in self.VOID:
            self._stack.append((tag, hidden, citation))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        if data.strip() and not any(h for _, h, _ in self._stack):
            (self.citations if any(c for _, _, c in self._stack) else self.shown).append(data.strip())


def article_words(text: str) -> set[str]:
    """Words that point at the articles this service was built from (“文章”, “种子”, “seed”) rather than
    at a named source; “网络文章” — what kind of document a cited source is — names no file of ours."""
    return set(ARTICLE_WORDS.findall(text.replace("网络文章", "")))


def latin_words(text: str) -> set[str]:
    return {word for word in LATIN.findall(URL.sub(" ", text)) if word.upper() not in ALLOWED}


def shown(html: str) -> _ShownText:
    parser = _ShownText()
    parser.feed(html)
    return parser


def _pages_of(client: Any) -> dict[str, str]:
    """Every page this visitor can reach, the confirmation steps and a month's detail included."""
    seen = {path: client.get(path).get_data(as_text=True) for path in PAGES}
    month = re.search(r'href="(/h5/records/\d+)"', seen["/h5/records"])
    if month:
        seen[month.group(1)] = client.get(month.group(1)).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', seen["/h5/bind"])
    if token and "id=\"unbind\"" in seen["/h5/bind"]:
        seen["unbind-confirm"] = client.post("/h5/bind/unbind", data={"csrf_token": token.group(1)}).get_data(
            as_text=True)
    seen["bind-refused"] = client.post("/h5/bind", data={"csrf_token": token.group(1) if token else "",
                                                         "name": "x", "id_number": "1"}).get_data(as_text=True)
    return seen


@pytest.fixture
def everything(app: Flask, demo: dict[str, DemoPerson], simulator: Simulator,
               fake_wechat: FakeWeChat) -> dict[str, _ShownText | str]:
    """Every page (per openid) and every message: replies to every menu key and typed words, and what
    the service pushed (bind confirmations, 家庭共济 consent requests and receipts, reminders)."""
    fake_wechat.add_follower("demo_visitor")
    seen: dict[str, _ShownText | str] = {}
    for openid in OPENIDS:
        client = app.test_client()
        sign_in(client, openid)
        for path, html in _pages_of(client).items():
            seen[f"{openid} {path}"] = shown(html)
        for key in MENU_KEYS:
            seen[f"{openid} click {key}"] = simulator.click(openid, key).content or ""
        for words in TYPED:
            seen[f"{openid} text {words}"] = simulator.text(openid, words).content or ""
        seen[f"{openid} subscribe"] = simulator.subscribe(openid).content or ""
    fake_wechat.add_follower("o-spouse")
    _pushes(app, demo, fake_wechat)
    for number, message in enumerate(fake_wechat.sent_messages()):
        body = message.body
        words = body.get("text", {}).get("content") or " ".join(v["value"] for v in body.get("data", {}).values())
        seen[f"pushed {number} to {message.touser}"] = words
    return seen


def _pushes(app: Flask, demo: dict[str, DemoPerson], fake_wechat: FakeWeChat) -> None:
    """Make the service push each kind of message once, through its services: a bind confirmation,
    a 家庭共济 consent request and its answer, a receipt to the payer and to the relative, a
    revocation notice, and the day's reminders."""
    from miniservice.citizens.binding import BindRequest, bind, unbind
    from miniservice.citizens.privacy import PRIVACY_VERSION
    from miniservice.db import get_db
    from miniservice.family import consent, links, payments
    from miniservice.outbox.sending import drain
    from miniservice.reminders.service import run_day

    settings = state.settings(app)
    with app.app_context():
        db = get_db()
        spouse, mother = demo["family_spouse"], demo["family_parent"]
        bind(db, "o-spouse", BindRequest(spouse.name, spouse.id_number, "card", spouse.card_number, PRIVACY_VERSION))
        today = state.clock().today()
        links.add_link(db, settings, "demo_citizen_8",
                       links.LinkRequest(spouse.name, spouse.id_number, spouse.card_number, "spouse", False), today)
        drain()  # the outbox sends what the services queued
        request = fake_wechat.sent_messages("o-spouse")[-1].body["text"]["content"]
        token = re.search(r"/h5/family/consent/([^\s]+)", request).group(1)
        consent.answer_consent(db, token, "o-spouse", accept=True)
        links.add_link(db, settings, "demo_citizen_8",
                       links.LinkRequest(mother.name, mother.id_number, mother.card_number, "parent", True), today)
        view = overview(db, "demo_citizen_8", today)
        for link_view in view.open_as_holder:
            for due in link_view.status.dues if link_view.status else ():
                payments.pay(db, "demo_citizen_8", payments.PayRequest(
                    link_view.link.id, due.item, str(due.amount), payments.new_request_key()), today)
            links.revoke_link(db, "demo_citizen_8", link_view.link.id)
        unbind(db, "o-spouse")
        run_day(TODAY)
        drain()


def test_no_page_or_message_shows_english_or_internal_codes(everything: dict[str, Any]) -> None:
    found = {}
    for where, seen in everything.items():
        text = " ".join(seen.shown) if isinstance(seen, _ShownText) else seen
        if words := latin_words(text):
            found[where] = sorted(words)
    assert found == {}, found
    pushed = " ".join(v for k, v in everything.items() if k.startswith("pushed"))
    for kind in ("身份绑定成功", "家庭共济绑定确认", "已同意", "家庭共济缴费成功", "已解除身份绑定", "已解除你们之间"):
        assert kind in pushed, f"no {kind} message was checked"
    pages = [v for v in everything.values() if isinstance(v, _ShownText)]
    assert len(pages) >= len(OPENIDS) * len(PAGES) and all(page.shown for page in pages)


def test_the_citation_lists_are_plain_chinese_too(everything: dict[str, Any]) -> None:
    found = {where: sorted(latin_words(" ".join(seen.citations)))
             for where, seen in everything.items() if isinstance(seen, _ShownText) and latin_words(
                 " ".join(seen.citations))}
    assert found == {}


def test_no_page_or_message_refers_to_our_article_files(everything: dict[str, Any]) -> None:
    """Issue 15: a band read “…（文章例子）” — which article? A citizen reads what a source says, named in
    the 计算依据 with its title; outside it no word points at the articles this service was built from."""
    found = {}
    for where, seen in everything.items():
        text = " ".join([*seen.shown, *seen.citations]) if isinstance(seen, _ShownText) else seen
        if words := article_words(text):
            found[where] = sorted(words)
    assert found == {}, found


def test_no_rule_file_or_source_gives_citizens_words_about_our_article_files() -> None:
    """What the rule files put before citizens (notes, band labels, what a differing source says, the
    registry's notes on its documents) is checked at the source, for pages the walk above does not reach."""
    book = load_rulebook(POLICIES)
    found = {}
    for code, region in book.files.items():
        for path, figure in sourced_nodes(region):
            texts = [figure.note, getattr(figure, "label", None), *(d.says for d in figure.differs)]
            if words := article_words(" ".join(filter(None, texts))):
                found[f"{code} {path}"] = sorted(words)
    for doc in book.sources.values():
        if words := article_words(" ".join(filter(None, [doc.title, doc.issuer, doc.note]))):
            found[f"sources {doc.id}"] = sorted(words)
    assert found == {}, found


def test_the_checker_sees_words_about_our_article_files() -> None:
    assert article_words("断缴4个月：补缴后次月恢复报销（文章例子）") == {"文章"}
    assert article_words("见种子文件 seed 001") == {"种子", "seed"}
    assert article_words("《医保缴费能不能断》（网络文章，仅供参考）：断缴4个月的例子（示例数据）") == set()


def test_the_checker_sees_english_where_it_is() -> None:
    page = shown('<p>请按 <b>YYYY-MM</b> 填写</p><input placeholder="Name"><p class="citation">seed 001</p>'
                 '<input type="hidden" value="token"><script>var x</script>')
    assert latin_words(" ".join(page.shown)) == {"YYYY", "MM", "Name"}
    assert latin_words(" ".join(page.citations)) == {"seed"}
    assert latin_words("明细：http://127.0.0.1:5000/h5/records 医保服务平台APP") == set()
