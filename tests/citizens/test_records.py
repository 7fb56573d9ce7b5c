"""缴费记录: the RECORDS reply through the simulator and the H5 pages, for the demo's situations.

Today is 2026-11-20 (see conftest): 2026-10 is the last month due.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from miniservice.citizens.binding import BindRequest, bind
from miniservice.citizens.demo_data import DemoPerson
from miniservice.citizens.identity import IdentityVault
from miniservice.citizens.importing import import_records
from miniservice.citizens.models import Binding, Contribution, Person
from miniservice.citizens.privacy import PRIVACY_VERSION
from miniservice.db import Database
from miniservice.devtools.simulator import Simulator
from miniservice.quotes.service import quote_for_person
from miniservice.rules.quote_model import Quote
from tests.citizens.conftest import BOB, HEADER, TODAY, page_text, sign_in
from tests.conftest import TEST_DATA_KEY

Demo = dict[str, DemoPerson]


def contribution_ids(db: Database, person: DemoPerson) -> list[int]:
    vault = IdentityVault(TEST_DATA_KEY)
    with db.reading() as session:
        return list(session.execute(
            select(Contribution.id).join(Person, Person.id == Contribution.person_id)
            .where(Person.id_number_hash == vault.lookup_hash(person.id_number))
        ).scalars())


def test_an_unbound_user_tapping_records_gets_the_binding_link(simulator: Simulator, demo: Demo) -> None:
    reply = simulator.click("o-not-bound", "RECORDS")
    assert reply.status == 200 and "还没有绑定身份" in reply.content
    assert simulator.callback_url.replace("/wechat/callback", "/h5/bind") in reply.content


def test_a_bound_user_gets_twelve_months_balance_and_the_page_link(simulator: Simulator, demo: Demo) -> None:
    reply = simulator.click("demo_citizen_1", "RECORDS")
    content = reply.content
    assert content.startswith("王*国，您的医保缴费情况（北京市 · 职工医保（在职））")
    assert "近 12 个月：\n2026-10 已缴 单位 800.00 元" in content and "2025-11 已缴" in content
    assert "2025-10" not in content and "⚠" not in content
    assert "个人账户余额：5,760.00 元" in content and "连续参保：3 年" in content
    assert simulator.callback_url.replace("/wechat/callback", "/h5/records") in content
    assert demo["continuous"].id_number not in content and "王建国" not in content


def test_typing_the_keyword_gives_the_gap_and_the_day_it_passes_the_regions_line(
    simulator: Simulator, demo: Demo, db: Database
) -> None:
    content = simulator.text("demo_citizen_3", "缴费记录").content
    line = _own_quote(db, demo["gap2"]).line
    assert line is not None
    assert "⚠ 您已断缴 2 个月（2026-09 至 2026-10）。" in content
    days_left = (line.last_day_within - TODAY).days
    assert f"在 {line.last_day_within} 前补缴（还剩 {days_left} 天），补缴后不设待遇等待期" in content
    assert f"从 {line.first_day_beyond} 起将变为：{line.avoided_rule}" in content
    assert "2026-10 无缴费记录 ⚠" in content and "补缴测算：" in content


def _own_quote(db: Database, person: DemoPerson) -> Quote:
    with db.reading() as session:
        person_id = session.execute(select(Person.id).where(
            Person.id_number_hash == IdentityVault(TEST_DATA_KEY).lookup_hash(person.id_number))).scalar_one()
    return quote_for_person(db, person_id, TODAY).quote


def test_a_unit_caused_gap_tells_the_citizen_the_unit_pays(simulator: Simulator, demo: Demo) -> None:
    content = simulator.click("demo_citizen_5", "RECORDS").content
    assert "您的单位欠缴 2 个月（2026-09 至 2026-10），属于单位原因断缴。单位应在 6 个月内足额补缴" in content
    assert "无需缴纳滞纳金" in content and "补缴测算：" not in content


def test_the_records_page_of_a_four_month_gap_says_what_the_quote_says(client: Any, demo: Demo,
                                                                         db: Database) -> None:
    """成都 (demo_citizen_4): the quote sets no wait for this gap, so the page must not warn of one."""
    sign_in(client, "demo_citizen_4")
    text = page_text(client.get("/h5/records"))
    quote = _own_quote(db, demo["gap4"])
    assert quote.benefits is not None and quote.benefits.waiting_months == 0
    assert "您已断缴 4 个月（2026-07 至 2026-10）" in text and "可能需要等待期" not in text
    assert "不设待遇等待期" in text
    assert text.count("断缴中") == 4 and "连续参保 3 年 1 个月" in text


def test_a_gap_longer_than_six_months_says_continuity_restarts(client: Any, demo: Demo, db: Database) -> None:
    with db.transaction() as session:  # 赵敏 has no demo openid: bind her here
        vault = IdentityVault(TEST_DATA_KEY)
        person_id = session.execute(select(Person.id).where(
            Person.id_number_hash == vault.lookup_hash(demo["gap8"].id_number))).scalar_one()
        session.add(Binding(openid="o-zhao", person_id=person_id))
    sign_in(client, "o-zhao")
    text = page_text(client.get("/h5/records"))
    assert "您已断缴 8 个月（2026-03 至 2026-10）" in text and "连续参保年限将重新计算" in text


def test_the_records_page_shows_the_timeline_with_who_paid_and_the_account(client: Any, demo: Demo) -> None:
    sign_in(client, "demo_citizen_1")
    response = client.get("/h5/records")
    text = page_text(response)
    assert response.status_code == 200 and "王*国 · 1101**********" in text
    assert "个人账户余额 5,760.00 元" in text and "目前没有断缴" in text and "连续参保 3 年" in text
    assert "最近 24 个月" in text
    assert "2026-10 已缴 缴费基数 8,000.00 元：单位 640.00 元 + 个人 160.00 元，由单位缴纳 800.00 元" in text
    assert text.count("补缴") >= 2  # the two back-paid months of 2025 are tagged
    assert "2026-10 个人账户划入 +160.00 元" in text


def test_a_resident_sees_yearly_premiums_and_next_years_status(client: Any, demo: Demo) -> None:
    sign_in(client, "demo_citizen_7")
    text = page_text(client.get("/h5/records"))
    assert "2027 年度居民医保尚未缴费。集中缴费期为 2026-09-10 至 2026-12-25，请在 2026-12-25 前缴费" in text
    assert "2026 年度 已缴 2025-11-15 由本人缴纳 400.00 元" in text and "2023 年度 已缴" in text
    assert "个人账户余额" not in text and "断缴中" not in text
    assert 'href="/h5/resident" id="go-resident"' in client.get("/h5/records").get_data(as_text=True)  # how to pay


def test_a_retiree_short_of_the_required_years_is_told_the_shortfall_not_a_gap(client: Any, demo: Demo) -> None:
    sign_in(client, "demo_citizen_6")
    text = page_text(client.get("/h5/records"))
    assert "您于 2023-06-01 退休。累计缴费 15 年（实际缴费 12 年，视同缴费 3 年），本地要求累计满 30 年" in text
    assert "还差 15 年" in text and "当前断缴" not in text and "退休前最后 24 个月" in text
    assert 'href="/h5/quote" id="go-quote"' in client.get("/h5/records").get_data(as_text=True)  # what it costs


def test_a_month_detail_is_shown_to_its_owner_only(client: Any, demo: Demo, db: Database) -> None:
    own, other = contribution_ids(db, demo["continuous"])[-1], contribution_ids(db, demo["gap2"])[-1]
    sign_in(client, "demo_citizen_1")
    response = client.get(f"/h5/records/{own}")
    assert response.status_code == 200 and "合计 800.00 元" in page_text(response)
    for foreign in (other, 999_999):
        response = client.get(f"/h5/records/{foreign}")
        assert response.status_code == 404 and "未找到这条缴费记录" in page_text(response)
        assert "陈" not in page_text(response)


def test_an_unbound_visitor_is_asked_to_bind_first(client: Any, demo: Demo, db: Database) -> None:
    sign_in(client, "o-not-bound")
    for url in ("/h5/records", f"/h5/records/{contribution_ids(db, demo['continuous'])[0]}"):
        response = client.get(url)
        assert response.status_code == 200 and "请先绑定身份" in page_text(response)
        assert 'href="/h5/bind"' in response.get_data(as_text=True)


def test_a_month_paid_ahead_of_its_due_date_is_on_the_timeline(client: Any, db: Database, registry: Any,
                                                               rules: None) -> None:
    row = f"{BOB['id_number']},张大山,13787654321,BJ0000654321,110000,employee,北京某公司,2026-11,9000,720,180,paid," \
          "2026-11-15,unit"
    assert import_records(db, f"{HEADER}\n{row}\n".encode(), "test", today=TODAY).ok
    bind(db, "o-bob", BindRequest(BOB["name"], BOB["id_number"], "card", BOB["card"], PRIVACY_VERSION))
    sign_in(client, "o-bob")
    text = page_text(client.get("/h5/records"))
    assert "最近 4 个月 2026-11 已缴" in text and "最近已缴月份 2026-11" in text and "目前没有断缴" in text
