"""The one JSON shape of a quote (docs/quote-json.md): keys, formats, rounding."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pytest

from miniservice.rules.kinds import Cause, Scheme, Sex
from miniservice.rules.months import Month
from miniservice.rules.quote import quote
from miniservice.rules.quote_model import CitizenFacts, money
from miniservice.rules.schema import ContinuityEffect, WaitingBand, WaitKind
from miniservice.rules.waiting import describe
from tests.rules.helpers import gap_quote

TOP_KEYS = {"schema", "region", "on_date", "scheme", "cause", "gap", "route", "months", "totals", "benefits",
            "reduced_ratio", "continuity", "three_month_line", "retirement", "resident", "guidance",
            "citations", "illustrative", "illustrative_keys", "notes", "inputs", "base", "parts"}
MONEY = re.compile(r"^-?\d+\.\d{2}$")


def test_quote_json_has_the_documented_top_level_keys_and_serialises(book):
    data = gap_quote(book, "440300", "2025-01", "2025-04", date(2025, 5, 20)).to_json()
    assert set(data) == TOP_KEYS and data["schema"] == "miniservice.quote/1"
    json.dumps(data, ensure_ascii=False)  # JSON-ready: no Decimal, date or enum left


def test_quote_json_formats_money_months_and_dates(book):
    data = gap_quote(book, "440300", "2025-01", "2025-04", date(2025, 5, 20)).to_json()
    assert all(MONEY.match(v) for k, v in data["totals"].items() if k != "cites")
    assert [m["month"] for m in data["months"]] == ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert data["gap"] == {"first": "2025-01", "last": "2025-04", "months": 4}
    assert data["benefits"]["resume_on"] == "2025-06-01"
    assert data["region"]["chain"] == ["440300", "440000", "national"]


@pytest.mark.parametrize(("amount", "shown"), [("0.005", "0.01"), ("0.015", "0.02"), ("2.675", "2.68"),
                                                ("3164.805", "3164.81"), ("10", "10.00")])
def test_money_is_rounded_half_up_to_fen(amount, shown):
    assert money(Decimal(amount)) == shown


def test_every_citation_names_file_version_and_effective_date(book):
    data = gap_quote(book, "110000", "2025-01", "2025-04", date(2025, 5, 10), scheme=Scheme.EMPLOYEE,
                     cause=Cause.UNIT).to_json()
    for key, citation in data["citations"].items():
        assert citation["file"].endswith(".toml"), key
        assert citation["version"] and re.match(r"^\d{4}-\d{2}-\d{2}$", citation["effective_from"]), key
        assert citation["source"], key


def test_quote_without_a_gap_is_a_plain_no(book):
    from miniservice.rules.quote import quote

    data = quote(book.resolve("110000"), CitizenFacts("110000", Scheme.FLEXIBLE), date(2025, 5, 10)).to_json()
    assert data["route"]["how"] == "not_possible" and data["months"] == [] and data["gap"] is None
    assert data["totals"]["total"] == "0.00"


def test_facts_reject_a_gap_that_ends_before_it_starts():
    with pytest.raises(ValueError):
        CitizenFacts("110000", Scheme.FLEXIBLE, Month(2025, 5), Month(2025, 4))
    with pytest.raises(ValueError):
        CitizenFacts("110000", Scheme.FLEXIBLE, Month(2025, 5), None)


def test_the_illustrative_flag_follows_the_figures_shown_not_every_parameter_read(book):
    """南昌's 2025 premium with no 断保 rests on stated figures only (江西's 2025 notice): no banner (it used
    to be raised by the first counted 断保 year, read even when there was nothing to count)."""
    rules = book.region_for("360102")
    premium = quote(rules, CitizenFacts("360102", Scheme.RESIDENT), date(2024, 11, 1))

    assert premium.resident is not None and premium.resident.coverage_year == 2025
    assert premium.illustrative is False and premium.to_json()["illustrative_keys"] == []
    gap = gap_quote(book, "440300", "2025-01", "2025-04", date(2025, 5, 20))
    assert gap.illustrative and set(gap.illustrative_keys) <= set(gap.shown_cites)
    assert all(gap.citations[key].illustrative for key in gap.illustrative_keys)


@pytest.mark.parametrize(("paid", "years"), [(180, "15"), (280, "6.67"), (359, "0.08")])
def test_short_years_are_rounded_to_two_decimals(book, paid: int, years: str) -> None:
    """Audit finding 12: 80 months were "6.666666666666666666666666667" years."""
    facts = CitizenFacts("360100", Scheme.RETIREE, sex=Sex.MALE, paid_months=paid)
    data = quote(book.region_for("360100"), facts, date(2025, 4, 15)).to_json()

    assert data["retirement"]["short_years"] == years


LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
TEXT_CASES = [  # (region, scheme, cause, first, last, on): every kind of route and band a quote can state
    ("110000", Scheme.EMPLOYEE, Cause.SELF, "2025-01", "2025-03", date(2025, 4, 15)),
    ("310000", Scheme.FLEXIBLE, Cause.SELF, "2024-01", "2024-04", date(2025, 5, 15)),
    ("440100", Scheme.EMPLOYEE, Cause.UNIT, "2025-01", "2025-02", date(2025, 3, 15)),
    ("440100", Scheme.EMPLOYEE, Cause.UNIT, "2023-03", "2023-04", date(2025, 3, 15)),
    ("440100", Scheme.EMPLOYEE, Cause.UNIT, "2020-03", "2020-04", date(2025, 3, 15)),
    ("140100", Scheme.RESIDENT, Cause.SELF, None, None, date(2025, 12, 26)),
    ("140100", Scheme.RESIDENT, Cause.SELF, None, None, date(2025, 10, 10)),
    ("140100", Scheme.RESIDENT, Cause.SELF, None, None, date(2025, 9, 9)),
    ("140100", Scheme.RESIDENT, Cause.SELF, "2022-01", "2023-12", date(2025, 12, 26)),
    ("360100", Scheme.RETIREE, Cause.SELF, None, None, date(2025, 4, 15)),
    ("110000", Scheme.FLEXIBLE, Cause.SELF, None, None, date(2025, 4, 15)),
]


@pytest.mark.parametrize(("region", "scheme", "cause", "first", "last", "on"), TEXT_CASES)
def test_the_texts_a_quote_explains_itself_with_are_chinese(book, region, scheme, cause, first, last, on):
    facts = CitizenFacts(region, scheme, first and Month.parse(first), last and Month.parse(last), cause=cause,
                         sex=Sex.MALE if scheme is Scheme.RETIREE else None, paid_months=180)
    data = quote(book.region_for(region), facts, on).to_json()
    texts = [data["route"]["reason"], (data["benefits"] or {}).get("rule") or "",
             (data["three_month_line"] or {}).get("avoids", {}).get("rule") or ""]
    assert data["route"]["reason"] and data["route"]["code"]
    assert [text for text in texts if LATIN_WORD.search(text)] == []


def test_a_band_without_a_label_is_described_in_chinese():
    for wait in WaitKind:
        band = WaitingBand.model_construct(over=0, wait=wait, months=3, label="",
                                           continuity=ContinuityEffect.KEPT)
        assert not LATIN_WORD.search(describe(band))
