"""Demo people whose records show every situation the service explains, dated relative to ``today``.

The data goes through the same checks and upserts as a real import (it is rendered as CSV and read
back), so running it twice creates nothing new and it can never hold a row an import would refuse.
ID numbers are synthetic but valid (GB 11643 check character from :func:`id_check_char`); the
region prefixes are real districts of the policy regions so the rules that apply are the local ones.
A few people are bound to fixed openids (``demo_citizen_1`` …) so the simulator shows data at once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from miniservice import audit, state
from miniservice.citizens.identity import (
    IdentityVault,
    id_check_char,
    mask_id_number,
    mask_name,
)
from miniservice.citizens.import_format import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, parse_file, spreadsheet_cell
from miniservice.citizens.importing import apply_rows, insert_new_rows
from miniservice.citizens.lookup import person_by_id_number
from miniservice.citizens.models import Binding, BindingEvent
from miniservice.clock import now_utc
from miniservice.db import Database
from miniservice.rules.gaps import last_due_month
from miniservice.rules.months import Month, month_range

DEMO_OPENID = "demo_citizen_{}"
REGION_NAMES = {"110000": "北京", "310000": "上海", "440300": "深圳", "510100": "成都", "350200": "厦门",
                "330200": "宁波", "420500": "宜昌", "360100": "南昌", "140100": "太原"}


@dataclass(frozen=True)
class DemoPerson:
    """One demo citizen; clear identity values are synthetic, for the demo's binding form only."""

    key: str
    name: str
    id_number: str
    card_number: str
    phone: str
    region_code: str
    scheme: str
    situation: str
    openid: str | None = None
    rows: tuple[dict[str, str], ...] = field(default=(), repr=False, compare=False)

    def masked_row(self) -> tuple[str, ...]:
        return (self.openid or "—", mask_name(self.name), mask_id_number(self.id_number),
                f"{REGION_NAMES[self.region_code]} {self.region_code}", self.scheme, self.situation)


class _Builder:
    """Makes valid identity values and CSV rows for one person, relative to the last due month."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.last_due = last_due_month(today)
        self.serial = 0

    def person(self, key: str, name: str, district: str, born: date, male: bool, scheme: str, situation: str,
               openid: int | None, rows: Iterator[dict[str, str]]) -> DemoPerson:
        self.serial += 1
        sequence = f"{10 + self.serial:02d}{1 if male else 2}"  # 17th digit: odd for men, even for women
        first17 = f"{district}{born:%Y%m%d}{sequence}"
        region = district[:4] + "00" if district[:2] not in ("11", "31") else district[:2] + "0000"
        return DemoPerson(
            key=key, name=name, id_number=first17 + id_check_char(first17), card_number=f"D{district}{self.serial:06d}",
            phone=f"1380000{self.serial:04d}", region_code=region, scheme=scheme, situation=situation,
            openid=DEMO_OPENID.format(openid) if openid else None, rows=tuple(rows))

    def months(self, first: int, last: int, scheme: str, *, employer: str = "", base: str = "8000",
               status: str = "paid", payer: str = "unit", credit: bool = False,
               paid_late_by: int = 0) -> Iterator[dict[str, str]]:
        """Rows for the months ``last_due - first`` … ``last_due - last`` (offsets count back)."""
        for month in month_range(self.last_due - first, self.last_due - last):
            amount = Decimal(base)
            unit, personal = amount * Decimal("0.08"), amount * Decimal("0.02")
            if scheme == "flexible":  # 灵活就业 pays both shares alone
                payer = "self"
            paid_on = "" if status == "unpaid" else str(min((month + paid_late_by).first_day.replace(day=15),
                                                              self.today))
            yield {"scheme": scheme, "employer": employer, "month": str(month), "base": base,
                   "unit_amount": f"{unit:.2f}", "personal_amount": f"{personal:.2f}", "status": status,
                   "paid_on": paid_on, "payer": payer, "account_credit": f"{personal:.2f}" if credit else ""}

    def resident_years(self, first: int, last: int) -> Iterator[dict[str, str]]:
        """Paid 居民医保 years ``first`` … ``last`` (calendar years), paid in the previous November."""
        for year in range(first, last + 1):
            yield {"scheme": "resident", "employer": "", "month": f"{year}-01", "base": "", "unit_amount": "",
                   "personal_amount": "400" if year >= 2024 else "380", "status": "paid",
                   "paid_on": str(min(date(year - 1, 11, 15), self.today)), "payer": "self", "account_credit": ""}


def demo_people(today: date) -> list[DemoPerson]:
    """Everyone in the demo, with their rows; deterministic for a given ``today``."""
    b = _Builder(today)
    year = today.year
    company, factory = "北京星河科技有限公司", "太原重型机械厂"

    def chain(*parts: Iterator[dict[str, str]]) -> Iterator[dict[str, str]]:
        for part in parts:
            yield from part

    return [
        b.person("continuous", "王建国", "110105", date(1985, 3, 12), True, "employee",
                 "职工医保连续缴费 36 个月（其中 2 个月为补缴），个人账户有余额", 1,
                 chain(b.months(35, 16, "employee", employer=company, credit=True),
                       b.months(15, 14, "employee", employer=company, credit=True, status="back_paid", paid_late_by=3),
                       b.months(13, 0, "employee", employer=company, credit=True))),
        b.person("gap1", "李芳", "310115", date(1990, 7, 8), False, "flexible",
                 "灵活就业，断缴 1 个月", 2, b.months(24, 1, "flexible", base="6000")),
        b.person("gap2", "陈强", "440305", date(1988, 11, 23), True, "flexible",
                 "灵活就业，断缴 2 个月", 3, b.months(24, 2, "flexible", base="8000")),
        b.person("gap4", "刘洋", "510107", date(1992, 2, 29), True, "flexible",
                 "离职后转灵活就业，断缴 4 个月（已超过 3 个月）", 4,
                 chain(b.months(40, 16, "employee", employer="成都蓉城物流有限公司", base="7000"),
                       b.months(15, 4, "flexible", base="6000"))),
        b.person("gap8", "赵敏", "350203", date(1983, 9, 30), False, "flexible",
                 "灵活就业，断缴 8 个月（连续参保已中断）", None, b.months(30, 8, "flexible", base="6500")),
        b.person("unit_gap", "孙磊", "330203", date(1991, 5, 17), True, "employee",
                 "单位欠缴 2 个月（单位原因）", 5,
                 chain(b.months(30, 2, "employee", employer="宁波港湾贸易有限公司", base="9000"),
                       b.months(1, 0, "employee", employer="宁波港湾贸易有限公司", base="9000", status="unpaid"))),
        b.person("lapse", "周婷", "420502", date(1995, 12, 1), False, "flexible",
                 "灵活就业停缴约 3 个月（宜昌按天数计算等待期）", None, b.months(20, 3, "flexible", base="5000")),
        b.person("retiree_short", "吴德明", "360102", date(1963, 5, 6), True, "retiree",
                 "已退休，累计缴费 15 年，不足南昌男性 30 年", 6,
                 ({**row, "retired_on": "2023-06-01", "deemed_months": "36"}
                  for row in b.months(b.last_due.index - Month(2011, 6).index,
                                      b.last_due.index - Month(2023, 5).index,
                                      "employee", employer="南昌洪都机电厂", base="5000"))),
        b.person("resident_unpaid", "郑秀英", "140105", date(1970, 4, 18), False, "resident",
                 f"居民医保，已缴至 {year} 年，{year + 1} 年度未缴", 7, b.resident_years(year - 3, year)),
        b.person("family_holder", "钱志刚", "140105", date(1984, 1, 9), True, "employee",
                 "职工医保，个人账户有余额，可为家人共济缴费", 8,
                 b.months(29, 0, "employee", employer=factory, base="7500", credit=True)),
        b.person("family_spouse", "林慧", "140106", date(1987, 6, 21), False, "resident",
                 "demo_citizen_8 的配偶，居民医保", None, b.resident_years(year - 2, year)),
        b.person("family_parent", "钱桂兰", "140105", date(1956, 10, 3), False, "resident",
                 "demo_citizen_8 的母亲，居民医保", None, b.resident_years(year - 2, year)),
        b.person("family_child", "钱小宇", "140106", date(2016, 8, 15), True, "resident",
                 "demo_citizen_8 的儿子，居民医保（未成年）", None, b.resident_years(year - 2, year)),
    ]


def demo_csv(people: list[DemoPerson]) -> bytes:
    """The people as an import file (the documented format)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REQUIRED_COLUMNS + OPTIONAL_COLUMNS, restval="")
    writer.writeheader()
    for person in people:
        identity = {"id_number": person.id_number, "name": person.name, "phone": person.phone,
                    "card_number": person.card_number, "region_code": person.region_code}
        for row in person.rows:
            writer.writerow({column: "" if value is None else spreadsheet_cell(str(value))
                             for column, value in (identity | row).items()})
    return out.getvalue().encode("utf-8")


def generate_demo_data(db: Database, today: date, *, vault: IdentityVault | None = None,
                       bind: bool = True) -> list[DemoPerson]:
    """Create (or leave as they are) the demo people, their records and the demo bindings."""
    vault = vault or state.vault()
    people = demo_people(today)
    rows = parse_file(demo_csv(people), today)
    with db.transaction() as session:
        report = apply_rows(session, rows, vault)
        bound = 0
        for person in people if bind else []:
            if person.openid is None:
                continue
            found = person_by_id_number(session, vault, person.id_number)
            assert found is not None and found.id is not None
            person_id = found.id
            values = {"openid": person.openid, "person_id": person_id, "bound_at": now_utc()}
            if insert_new_rows(session, Binding, [values], ("openid",)):
                session.add(BindingEvent(openid=person.openid, person_id=person_id, action="bind"))
                bound += 1
        if report.persons.created or report.contributions.created or report.premiums.created or bound:
            audit.record(session, "system:demo", "records.demo_seed", f"today:{today}", bindings=bound,
                         **report.counts())
    return people


def demo_table(people: list[DemoPerson]) -> str:
    """A Markdown table of who is who (masked), for the README and the console."""
    header = ("openid", "姓名", "身份证号码", "地区", "险种", "情况")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(person.masked_row()) + " |" for person in people]
    return "\n".join(lines)


