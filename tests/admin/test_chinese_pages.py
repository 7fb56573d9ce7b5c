"""Every staff page speaks Chinese: no English word, key path or code outside the data staff typed.

Text the bureau stored (sources, notes, the rule file itself) is data, not the page's words: it sits in
form controls, ``<pre>`` or an element of class ``data`` and is left out. Usernames are data too.
"""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from typing import Any

from miniservice.db import Database
from miniservice.rules.months import Month, month_range
from tests.admin.conftest import bound_person, form_fields, post_form

ALLOWED = {"viewer", "editor", "publisher", "test",  # usernames of the fixtures
           "CSV", "APP"}  # the upload's file type; 医保服务平台APP, a channel's own name
LATIN = re.compile(r"[A-Za-z][A-Za-z_.]+")
SKIPPED = {"textarea", "pre", "script", "style", "title"}


class _Words(HTMLParser):
    """The page's own text: outside textarea, pre, script, style, select options' values and ``.data``."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self._stack: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"input", "br", "meta", "link", "img", "hr"}:
            return
        classes = (dict(attrs).get("class") or "").split()
        self._stack.append(tag in SKIPPED or "data" in classes or (bool(self._stack) and self._stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in {"input", "br", "meta", "link", "img", "hr"} and self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if not (self._stack and self._stack[-1]):
            self.text.append(data)


def english_in(html: str) -> set[str]:
    reader = _Words()
    reader.feed(html)
    return {word for word in LATIN.findall(" ".join(reader.text)) if word not in ALLOWED}


def test_no_staff_page_shows_english(publisher: Any, db: Database, rules: None) -> None:
    this_month = Month.of(date.today())
    person = bound_person(db, "440300", "flexible", month_range(this_month - 24, this_month - 4), date(2020, 1, 1))
    response = post_form(publisher, "/admin/rules/440300/drafts", {"version": ""})
    draft = int(response.headers["Location"].split("/")[-2])
    fields = form_fields(publisher.get(f"/admin/rules/versions/{draft}/edit").get_data(as_text=True))
    fields["flexible.unit_rate.value"] = "0.10"
    assert publisher.post(f"/admin/rules/versions/{draft}/edit", data=fields).status_code == 302
    fields["flexible.unit_rate.value"] = "abc"
    fields["flexible.waiting.self_bands.1.months"] = "0"
    fields["resident.period_start.value"] = "13-40"
    refused = publisher.post(f"/admin/rules/versions/{draft}/edit", data=fields)
    assert refused.status_code == 422
    broken = post_form(publisher, "/admin/rules/import", {"text": 'code = "440300"\nname = "深圳市"\nversion = 3\n'})
    assert broken.status_code == 422
    pages = {
        "refused edit": refused, "failed import": broken,
        **{url: publisher.get(url) for url in (
            "/admin/", "/admin/rules", "/admin/rules/440300", f"/admin/rules/versions/{draft}",
            f"/admin/rules/versions/{draft}/edit", "/admin/audit", "/admin/records/upload", f"/admin/people/{person}",
            "/admin/payments",
            )},
    }
    found = {name: english_in(page.get_data(as_text=True)) for name, page in pages.items()}
    bad = {name: sorted(words) for name, words in found.items() if words}
    assert not bad, "\n".join(f"{name}: {words}" for name, words in bad.items())


def test_regions_are_named_not_numbered_where_staff_read_them(publisher: Any, rules: None) -> None:
    assert "上级<b>广东省</b>" in publisher.get("/admin/rules/440300").get_data(as_text=True)
    listing = publisher.get("/admin/rules").get_data(as_text=True)
    row = listing[listing.index("<td>深圳市</td>"):]
    assert row[: row.index("</tr>")].count("广东省") == 1  # the parent column names the province
