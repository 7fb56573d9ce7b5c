"""上海/南京's "近3个月" window (audit finding 5).

《医疗保险中间断交可以补交吗?…》: “个人原因:需自行补缴,部分城市允许补缴近3个月费用(如南京、上海)” and
“部分地区允许补缴近3个月费用,超期需重新参保”: of a longer gap, the last three months can be paid;
the older months cannot, and stay a break in enrolment. The quote says which months are which.
"""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask, render_template

from miniservice.quotes.present import QuoteView
from miniservice.rules.kinds import Scheme
from miniservice.rules.months import Month
from miniservice.rules.quote_model import Route
from tests.rules.helpers import gap_quote

ON = date(2025, 5, 15)


@pytest.mark.parametrize("code", ["310000", "320100"])
@pytest.mark.parametrize("scheme", [Scheme.FLEXIBLE, Scheme.EMPLOYEE])
def test_a_four_month_gap_pays_its_last_three_months_and_names_the_first_as_unpayable(book, code, scheme):
    q = gap_quote(book, code, "2025-01", "2025-04", ON, scheme=scheme)

    assert q.route.possible and q.route.how is Route.ONLINE
    assert q.route.unpayable == (Month(2025, 1),)
    assert [line.month for line in q.lines] == [Month(2025, 2), Month(2025, 3), Month(2025, 4)]
    assert q.totals.citizen_owes > 0
    # the unpaid month is a break: nothing of the gap is reimbursed, continuity restarts
    assert not q.benefits.gap_bills_reimbursable and q.continuity.effect.value != "kept"
    data = q.to_json()["route"]
    assert data["payable_months"] == ["2025-02", "2025-03", "2025-04"] and data["unpayable_months"] == ["2025-01"]


def test_the_amount_is_the_payable_months_only(book):
    whole = gap_quote(book, "310000", "2025-02", "2025-04", ON)
    partial = gap_quote(book, "310000", "2025-01", "2025-04", ON)
    assert partial.totals.citizen_owes == whole.totals.citizen_owes


def test_a_gap_wholly_past_the_window_still_cannot_be_paid(book):
    q = gap_quote(book, "310000", "2024-11", "2025-01", ON)
    assert not q.route.possible and q.route.unpayable == () and q.lines == ()


def test_a_region_without_such_a_window_has_no_unpayable_months(book):
    q = gap_quote(book, "440300", "2025-01", "2025-04", ON)
    assert q.route.unpayable == () and len(q.lines) == 4


def test_the_citizen_reads_which_months_can_be_paid_and_what_the_others_mean(app: Flask, book):
    q = gap_quote(book, "310000", "2024-12", "2025-04", ON)
    with app.test_request_context():
        text = render_template("messages/quote_summary.txt", v=QuoteView(q, "q"))
    assert "个人最多可补缴最近 3 个月：2025-02 至 2025-04可以补缴" in text
    assert "2024-12 至 2025-01已超出期限，不能补缴" in text and "重新计算" in text
