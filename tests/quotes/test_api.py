"""``GET /api/quote`` (what-if) and ``/api/quote/me``: exactly ``Quote.to_json()``, or a 4xx naming why."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from miniservice.db import Database
from miniservice.quotes.params import WhatIf
from miniservice.quotes.service import quote_for_person, what_if
from miniservice.rules.kinds import Cause, Scheme
from miniservice.rules.months import Month
from tests.quotes.conftest import TODAY, Registry, sign_in


def test_what_if_answers_exactly_the_engines_json(client: Any, db: Database, rules: None) -> None:
    response = client.get("/api/quote?region=440300&scheme=flexible&gap=2025-01..2025-04&cause=self&on=2025-05-20")

    assert response.status_code == 200
    expected = what_if(db, WhatIf("440300", Scheme.FLEXIBLE, Month(2025, 1), Month(2025, 4), Cause.SELF,
                                  date(2025, 5, 20)))
    assert response.get_json() == expected.to_json()
    assert response.get_json()["totals"]["contributions"] == "3200.00"


def test_what_if_defaults_to_a_self_caused_gap_quoted_today(client: Any, rules: None) -> None:
    data = client.get("/api/quote?region=110000&scheme=employee&gap=2026-09..2026-10").get_json()

    assert (data["on_date"], data["cause"]) == (TODAY.isoformat(), "self")


def test_a_repeated_parameter_is_refused_not_guessed(client: Any, rules: None) -> None:
    """Audit finding 22: region=440300&region=999999 was quoted for 440300."""
    response = client.get("/api/quote?region=440300&region=999999&scheme=flexible&gap=2025-01..2025-04")

    assert response.status_code == 400 and response.get_json()["field"] == "region"


def test_a_bad_region_is_quoted_back_without_python_escapes(client: Any) -> None:
    error = client.get("/api/quote?region=440300%00&scheme=flexible&gap=2025-01..2025-04").get_json()["error"]

    assert "「440300」" in error and "\\x00" not in error and "'" not in error


@pytest.mark.parametrize(("query", "field"), [
    ("scheme=flexible&gap=2025-01..2025-04", "region"),
    ("region=440300&scheme=flexible&gap=2025-01", "gap"),
    ("region=440300&scheme=flexible&gap=2025-1..2025-04", "gap"),
    ("region=440300&scheme=flexible&gap=2025-01..2025-4", "gap"),
    ("region=440300&scheme=flexible&gap=2025-04..2025-01", "gap"),
    ("region=440300&scheme=flexible&gap=2025-01..2025-04&cause=unit", "cause"),
    ("region=440300&scheme=flexible&gap=2025-01..2025-04&sheme=x", "sheme"),
    ("region=999999&scheme=flexible&gap=2025-01..2025-04", "region"),
    ("region=440300&scheme=flexible&gap=2025-01..2025-04&on=2201-01-01", "on"),
    ("region=440300&scheme=flexible&gap=2025-01..2025-04&on=9999-12-31", "on"),
    ("region=440300&scheme=flexible&gap=2025-01..2025-04&base=-1", "base"),
    ("region=440300&scheme=retiree&paid_months=100", "sex"),
])
def test_bad_parameters_are_400_json_naming_the_field(client: Any, query: str, field: str) -> None:
    response = client.get("/api/quote?" + query)

    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == field and body["error"]


@pytest.mark.parametrize(("query", "field"), [
    ("region=440300&scheme=resident&on=2200-12-31", "on"),  # its next year's period would be in 2201
    ("region=440300&scheme=flexible&gap=2026-10..2026-11", "gap"),  # 2026-11 is not due on 2026-11-25
])
def test_answers_the_rules_cannot_give_are_400_naming_the_field(client: Any, rules: None, query: str,
                                                                field: str) -> None:
    response = client.get("/api/quote?" + query)

    assert response.status_code == 400 and response.get_json()["field"] == field


def test_a_date_before_every_rule_version_is_a_400_on_the_date(client: Any, rules: None) -> None:
    response = client.get("/api/quote?region=440300&scheme=flexible&gap=2019-01..2019-04&on=2019-05-20")

    assert response.status_code == 400 and response.get_json()["field"] == "on"


def test_without_rule_versions_the_api_is_unavailable_not_wrong(client: Any) -> None:
    response = client.get("/api/quote?region=440300&scheme=flexible&gap=2025-01..2025-04")

    assert response.status_code == 503 and "error" in response.get_json()


def test_my_quote_needs_a_session(client: Any) -> None:
    response = client.get("/api/quote/me")

    assert response.status_code == 401
    assert response.get_json()["error"]


def test_my_quote_for_a_session_without_binding_is_refused(client: Any, rules: None) -> None:
    sign_in(client, "o-unbound")

    assert client.get("/api/quote/me").status_code == 403


def test_my_quote_is_the_bound_citizens_own_gap(client: Any, db: Database, registry: Registry) -> None:
    person = registry.person(openid="o-me", enrolled=date(2024, 1, 1))
    registry.months(person, "2024-01", "2026-08")
    sign_in(client, "o-me")

    response = client.get("/api/quote/me")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.get_json() == quote_for_person(db, person, TODAY).quote.to_json()
    assert response.get_json()["gap"] == {"first": "2026-09", "last": "2026-10", "months": 2}


def test_a_district_code_is_quoted_under_its_citys_rules(client: Any, rules: None) -> None:
    data = client.get("/api/quote?region=440305&scheme=flexible&gap=2026-09..2026-10").get_json()

    assert data["region"]["code"] == "440300"


def test_a_district_of_a_city_without_its_own_rules_is_quoted_under_its_provinces(client: Any, rules: None) -> None:
    data = client.get("/api/quote?region=140213&scheme=flexible&gap=2026-09..2026-10").get_json()

    assert data["region"]["code"] == "140000"


def test_what_if_inputs_change_the_answer(client: Any, rules: None) -> None:
    query = "/api/quote?region=350200&scheme=flexible&gap=2026-09..2026-10"
    short, long = (client.get(f"{query}&continuous={months}").get_json() for months in (3, 24))
    own_base = client.get(f"{query}&base=9500").get_json()

    assert short["reduced_ratio"] is not None and long["reduced_ratio"] is None  # 厦门: 50% under 12 months
    assert own_base["base"]["source"] == "declared_input" and own_base["months"][0]["base"] == "9500.00"


def test_a_retirees_top_up_can_be_quoted(client: Any, rules: None) -> None:
    data = client.get("/api/quote?region=360100&scheme=retiree&sex=male&paid_months=180").get_json()

    assert data["retirement"]["short_months"] > 0 and data["gap"] is None
    assert data["inputs"]["paid_months"] == 180


def test_a_resident_year_whose_collection_period_has_ended_can_be_a_what_if_gap_as_on_the_own_quote(
    client: Any, db: Database, registry: Registry
) -> None:
    """On 2026-11-25 the 2026 year's 集中缴费期 (2025-09-10 → 2025-12-25) is long over: a resident who did
    not pay 2026 has 断保 in 2026 on their own quote, so a what-if must be able to say the same (audit-2 F1)."""
    person = registry.person(region="140105", scheme="resident", openid="o-skipped", enrolled=date(2024, 1, 1))
    registry.years(person, 2024, 2025)
    sign_in(client, "o-skipped")
    own = client.get("/api/quote/me").get_json()

    asked = client.get("/api/quote?region=140105&scheme=resident&gap=2026-01..2026-12")

    assert own["gap"] == {"first": "2026-01", "last": "2026-12", "months": 12}
    assert asked.status_code == 200, asked.get_json()
    data = asked.get_json()
    assert (data["resident"], data["benefits"], data["totals"]) == (own["resident"], own["benefits"], own["totals"])
    assert data["resident"]["gap_years_counted"] == 1


def test_a_resident_year_still_in_its_collection_period_is_not_yet_a_gap(client: Any, rules: None) -> None:
    response = client.get("/api/quote?region=140105&scheme=resident&gap=2026-01..2026-12&on=2025-12-20")

    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == "gap"
    assert body["error"] == ("2026 年度的集中缴费期到 2025-12-25 才结束，还不算断保；到 2025-12-20 为止，"
                             "集中缴费期已结束的最近一个年度是 2025 年")


def test_a_retiree_what_if_refuses_the_inputs_a_top_up_does_not_use(client: Any, rules: None) -> None:
    """A top-up is costed on the region's average wage: a typed base or continuous months would be
    silently ignored, so they are refused as for 居民医保 (audit-2 F2)."""
    query = "/api/quote?region=360100&scheme=retiree&sex=male&paid_months=200"

    for extra, field in (("&base=9000", "base"), ("&continuous=5", "continuous")):
        response = client.get(query + extra)

        assert response.status_code == 400 and response.get_json()["field"] == field
        assert "退休人员" in response.get_json()["error"]
