"""What a citizen reads under 计算依据: Chinese only, for every figure of every shipped region.

Every figure is rendered through the same macros the pages use (the quote's numbered list, the
family and records pages' list) and the CLI summary's citation lines; the text must carry no key path,
no file name, no registry id, no "seed" and no Latin word beyond a short allowlist.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask, render_template

from miniservice.quotes.present import QuoteView
from miniservice.rules.citing import Citer
from miniservice.rules.kinds import Cause, Scheme, Sex
from miniservice.rules.labels import figure_paths
from miniservice.rules.loading import load_rulebook
from miniservice.rules.months import Month
from miniservice.rules.quote import quote
from miniservice.rules.quote_model import CitizenFacts
from tests.rules.helpers import POLICIES

BOOK = load_rulebook(POLICIES)
ALLOWED_LATIN = {"APP", "App"}
ON = date(2025, 6, 20)


PAGES = ('{% from "h5/quote_macros.html" import citations %}'
         '{% from "h5/family_macros.html" import citations as listed %}'
         '{% if v %}{{ citations(v) }}{% endif %}{{ listed(items) }}')


def render_citations(app: Flask, view: QuoteView | None, items: list) -> str:
    """The quote page's 计算依据 list and the family/records pages' list, as HTML."""
    return app.jinja_env.from_string(PAGES).render(v=view, items=items)


def latin_words(text: str) -> list[str]:
    return [word for word in re.findall(r"[A-Za-z]+", text) if word not in ALLOWED_LATIN]


def readable(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def assert_citizen_grade(text: str, where: str) -> None:
    assert "seed" not in text.lower(), where
    assert ".toml" not in text, where
    assert not latin_words(text), (where, latin_words(text)[:10], text[:300])


def scenarios(code: str) -> list[CitizenFacts]:
    def gap(scheme: Scheme, months: int, cause: Cause = Cause.SELF) -> CitizenFacts:
        last = Month(2025, 5)
        return CitizenFacts(code, scheme, last - (months - 1), last, cause=cause, continuous_months_before=6)

    return [
        *(gap(Scheme.FLEXIBLE, n) for n in (2, 4, 5, 8)),
        *(gap(Scheme.EMPLOYEE, n) for n in (2, 4, 5, 8)),
        gap(Scheme.EMPLOYEE, 2, Cause.UNIT),
        CitizenFacts(code, Scheme.RESIDENT),
        CitizenFacts(code, Scheme.RESIDENT, resident_gap_years=5, resident_repair_years=1),
        CitizenFacts(code, Scheme.RETIREE, sex=Sex.FEMALE, birth_date=date(1970, 3, 1), paid_months=15 * 12),
    ]


@pytest.mark.parametrize("code", BOOK.codes())
def test_the_quote_pages_citation_list_is_chinese_for_every_scenario(app: Flask, code: str) -> None:
    rules = BOOK.resolve(code)
    with app.test_request_context():
        for index, facts in enumerate(scenarios(code)):
            view = QuoteView(quote(rules, facts, ON), f"q{index}")
            html = render_citations(app, view, [c for _, c in view.cited])
            text = readable(html)
            assert "计算依据" in text and "依据：" in text
            assert_citizen_grade(text, f"{code} {facts.scheme.value}")
            summary = render_template("messages/quote_summary.txt", v=view)
            cited = summary[summary.index("依据 citations:") + len("依据 citations:"):]
            assert_citizen_grade(cited.split("本测算")[0], f"{code} {facts.scheme.value} summary")


@pytest.mark.parametrize("code", BOOK.codes())
def test_every_figure_of_every_region_renders_in_chinese(app: Flask, code: str) -> None:
    rules = BOOK.resolve(code)
    citer = Citer(rules)
    for path in figure_paths(rules):
        citer.sourced(path)
    items = [citer.used[key] for key in sorted(citer.used)]
    assert len(items) > 60
    with app.test_request_context():
        text = readable(render_citations(app, None, items))
    assert_citizen_grade(text, code)
    for item in items:
        assert item.label in text and item.main.doc.citation() in text


def test_sources_that_differ_are_named_and_the_bureau_prevails(app: Flask) -> None:
    rules = BOOK.resolve("360100")
    citer = Citer(rules)
    citer.sourced("resident.premium.2025")
    with app.test_request_context():
        text = readable(render_citations(app, None, list(citer.used.values())))
    assert "2025年度居民医保个人缴费标准：400.00 元" in text
    assert "各来源说法不一：《南昌市医保缴费标准》（健康新闻，2025-04-18 发布）称南昌每人每年380元" in text
    assert "以当地医保经办机构核定的为准" in text
    with app.test_request_context():
        page = readable(render_citations(app, QuoteView(quote(rules, CitizenFacts("360100", Scheme.RESIDENT), ON), "r"),
                                         []))
    assert "部分数值各来源说法不一，已在下方注明；以当地医保经办机构核定的为准。" in page
    with app.test_request_context():
        plain = readable(render_citations(app, QuoteView(quote(BOOK.resolve("110000"), CitizenFacts(
            "110000", Scheme.FLEXIBLE, Month(2025, 4), Month(2025, 5)), ON), "p"), []))
    assert "计算依据" in plain and "说法不一" not in plain
