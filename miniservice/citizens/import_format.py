"""Reading and checking a registry export (CSV, one row per person-month); no database here.

The format is documented for the bureau in ``docs/import-format.md``. Every row is checked and every
problem kept with its line number, so staff fix a file once instead of once per error; nothing is
written unless the whole file is clean (see :mod:`miniservice.citizens.importing`). Error texts
never repeat a cell's value (a misplaced ID number would be shown back): they name the line and the
column. Hostile cells (control characters, oversized fields, absurd numbers) are row errors too.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

from miniservice.citizens.identity import IdNumber, InvalidIdentity, normalise_name, normalise_phone, parse_id_number
from miniservice.citizens.models import CONTRIBUTION_STATUSES, PAYERS, SCHEMES
from miniservice.rules.money import parse_money, to_fen
from miniservice.rules.months import Month

REQUIRED_COLUMNS = (
    "id_number", "name", "phone", "card_number", "region_code", "scheme", "employer", "month",
    "base", "unit_amount", "personal_amount", "status", "paid_on", "payer",
)
OPTIONAL_COLUMNS = ("account_credit", "enrolled_from", "retired_on", "deemed_months", "unemployed")
_CARD_RE = re.compile(r"^[0-9A-Z]{6,30}$")
_REGION_RE = re.compile(r"^\d{6}$")
T = TypeVar("T")
MAX_CELL = 200  # characters: longer than any real name, employer or code
MAX_AMOUNT = Decimal("10000000")  # yuan: far above any monthly base or premium
MAX_DEEMED_MONTHS = 600  # fifty years of 视同缴费
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DIGITS_RE = re.compile(r"^[0-9]{1,6}$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TRUE, _FALSE = {"1", "true", "yes", "y", "是"}, {"", "0", "false", "no", "n", "否"}


@dataclass(frozen=True, order=True)
class RowError:
    """One problem: the file line (header = 1), the column (blank for the whole row), a reason."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = f"第 {self.line} 行" + (f"（{self.column}）" if self.column else "")
        return f"{where}：{self.reason}"


@dataclass(frozen=True)
class PersonFields:
    """What a row says about the person; identity fields must agree across the person's rows."""

    id_number: IdNumber
    name: str
    phone: str | None
    card_number: str | None
    region_code: str
    employer: str | None
    enrolled_from: Month | None
    retired_on: date | None
    deemed_months: int
    unemployed: bool


@dataclass(frozen=True)
class ImportRow:
    """One clean row: a person-month (``scheme != resident``) or a resident year (month = YYYY-01)."""

    line: int
    person: PersonFields
    scheme: str
    month: Month
    base: Decimal
    unit_amount: Decimal
    personal_amount: Decimal
    status: str
    paid_on: date | None
    payer: str | None
    account_credit: Decimal | None

    @property
    def is_resident_year(self) -> bool:
        return self.scheme == "resident"


class FileRejected(ValueError):
    """The file (or the database state it meets) has problems; nothing was written."""

    def __init__(self, errors: Iterable[RowError]) -> None:
        self.errors = tuple(sorted(errors))
        super().__init__("\n".join(str(e) for e in self.errors))


def decode(data: bytes) -> str:
    """UTF-8 with or without BOM, else GBK (read as GB 18030, its superset)."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            line = data[: utf8_error.start].count(b"\n") + 1
            raise FileRejected([RowError(line, "", "文件编码无法识别：请保存为 UTF-8 或 GBK 编码的 CSV")]) from None


def spreadsheet_cell(value: str) -> str:
    """A value as the service writes it into a CSV: one that a spreadsheet would run as a formula
    (``=``, ``+``, ``-``, ``@``…) gets a leading apostrophe, which :func:`parse_file` removes again."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _cell(value: str) -> str:
    value = value.strip()
    return value[1:] if value[:1] == "'" and value[1:].startswith(_FORMULA_START) else value


def parse_file(data: bytes, today: date) -> list[ImportRow]:
    """Every row of the file, checked; raises :class:`FileRejected` with all problems found."""
    text = decode(data)
    control = _CONTROL_RE.search(text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        raise FileRejected([RowError(line, "", "含有不可见的控制字符，请用表格软件重新导出为 CSV")])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _parse_rows(reader, today)
    except csv.Error:
        raise FileRejected([RowError(reader.line_num, "", f"某一格超过 {MAX_CELL} 个字符或引号不成对，"
                                     "请检查后重新导出为 CSV")]) from None


def _parse_rows(reader: Iterable[list[str]], today: date) -> list[ImportRow]:
    header = [name.strip() for name in next(iter(reader), [])]
    errors = _header_errors(header)
    if errors:
        raise FileRejected(errors)
    rows: list[ImportRow] = []
    people: dict[tuple[str, ...], PersonFields] = {}
    line = reader.line_num  # type: ignore[attr-defined]
    for values in reader:
        first_line, line = line + 1, reader.line_num  # type: ignore[attr-defined]
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(header):
            errors.append(RowError(first_line, "", f"有 {len(values)} 列，表头有 {len(header)} 列"))
            continue
        too_long = [name for name, value in zip(header, values, strict=True) if len(value) > MAX_CELL]
        if too_long:
            errors += [RowError(first_line, name, f"内容超过 {MAX_CELL} 个字符") for name in too_long]
            continue
        row_errors: list[RowError] = []
        row = _parse_row(first_line, dict(zip(header, values, strict=True)), today, row_errors, people)
        errors += row_errors
        if row is not None:
            rows.append(row)
    if not rows and not errors:
        errors.append(RowError(1, "", "文件中没有数据行"))
    errors += _cross_row_errors(rows)
    if errors:
        raise FileRejected(errors)
    return rows


def _header_errors(header: list[str]) -> list[RowError]:
    if not any(header):
        return [RowError(1, "", "文件为空或缺少表头")]
    errors = [RowError(1, name, "缺少此列") for name in REQUIRED_COLUMNS if name not in header]
    errors += [RowError(1, name, "未知的列名") for name in header if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    duplicates = sorted({name for name in header if header.count(name) > 1})
    return errors + [RowError(1, name, "列名重复") for name in duplicates]


class _Row:
    """Field parsing for one row; each problem is appended to ``errors`` and yields None."""

    def __init__(self, line: int, values: Mapping[str, str], errors: list[RowError]) -> None:
        self.line, self.values, self.errors = line, values, errors

    def text(self, column: str) -> str:
        return _cell(self.values.get(column) or "")

    def fail(self, column: str, reason: str) -> None:
        self.errors.append(RowError(self.line, column, reason))

    def required(self, column: str) -> str | None:
        value = self.text(column)
        if not value:
            self.fail(column, "不能为空")
        return value or None

    def money(self, column: str, *, required: bool) -> Decimal | None:
        text = self.text(column)
        if not text:
            if required:
                self.fail(column, "不能为空")
            return None
        try:
            value = parse_money(text)
        except ValueError:
            self.fail(column, "不是金额（应为数字，如 6000 或 480.50）")
            return None
        if value < 0 or to_fen(value) != value:
            self.fail(column, "金额应为不小于 0、最多两位小数的数")
            return None
        if value > MAX_AMOUNT:
            self.fail(column, f"金额超出合理范围（最多 {MAX_AMOUNT} 元）")
            return None
        return value

    def day(self, column: str) -> date | None:
        text = self.text(column)
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.fail(column, "日期应写成 YYYY-MM-DD，如 2025-01-20")
            return None

    def month(self, column: str) -> Month | None:
        text = self.text(column)
        if not text:
            return None
        try:
            return Month.parse(text)
        except ValueError:
            self.fail(column, "月份应写成 YYYY-MM，如 2025-01")
            return None

    def choice(self, column: str, allowed: Iterable[str]) -> str | None:
        value = self.text(column)
        if value and value not in allowed:
            self.fail(column, f"应为 {' / '.join(allowed)} 之一")
            return None
        return value or None

    def identity(self, column: str, parse: Callable[[str], T]) -> T | None:
        try:
            return parse(self.text(column))
        except InvalidIdentity as exc:
            self.fail(column, str(exc))
            return None


_PERSON_COLUMNS = ("id_number", "name", "phone", "card_number", "region_code", "employer", "enrolled_from",
                   "retired_on", "deemed_months", "unemployed")


def _parse_row(line: int, values: Mapping[str, str], today: date, errors: list[RowError],
               people: dict[tuple[str, ...], PersonFields]) -> ImportRow | None:
    """One row; ``people`` remembers person cells already checked (a person has a row per month, and
    checking an ID number, name and phone once instead of each month is most of a large file's time)."""
    row = _Row(line, values, errors)
    cells = tuple(values.get(column, "") for column in _PERSON_COLUMNS)
    person = people.get(cells)
    if person is None:
        person = _person(row)
        if person is not None:
            people[cells] = person
    scheme = row.choice("scheme", SCHEMES) if row.required("scheme") else None
    status = row.choice("status", CONTRIBUTION_STATUSES) if row.required("status") else None
    month = row.month("month") if row.required("month") else None
    resident = scheme == "resident"
    base = row.money("base", required=not resident)
    unit_amount = row.money("unit_amount", required=not resident)
    personal_amount = row.money("personal_amount", required=True)
    paid_on = row.day("paid_on")
    payer = row.choice("payer", PAYERS)
    credit = row.money("account_credit", required=False)
    if resident and month is not None and month.month != 1:
        row.fail("month", "居民医保按年缴费：month 写成该年的 1 月，如 2025-01")
    if resident and any(value for value in (base, unit_amount)):
        row.fail("base" if base else "unit_amount", "居民医保只填 personal_amount（年度个人缴费），此列留空")
    if resident and credit:
        row.fail("account_credit", "居民医保没有个人账户划入")
    if scheme == "employee" and not row.text("employer"):
        row.fail("employer", "在职职工医保须填写单位名称")
    if status in ("paid", "back_paid"):
        if paid_on is None and not row.text("paid_on"):
            row.fail("paid_on", "已缴或补缴的月份须填写缴费日期")
        if payer is None and not row.text("payer"):
            row.fail("payer", "已缴或补缴的月份须填写缴费方")
    if status == "unpaid" and row.text("paid_on"):
        row.fail("paid_on", "未缴的月份不能有缴费日期")
    if status == "unpaid" and credit:
        row.fail("account_credit", "未缴的月份没有个人账户划入")
    if paid_on is not None and paid_on > today:
        row.fail("paid_on", "缴费日期晚于今天")
    if errors or person is None:
        return None
    assert scheme and status and month and personal_amount is not None
    return ImportRow(line, person, scheme, month, base or Decimal(0), unit_amount or Decimal(0), personal_amount,
                     status, paid_on, payer, credit)


def _person(row: _Row) -> PersonFields | None:
    failed = len(row.errors)
    id_number = row.identity("id_number", parse_id_number)
    name = row.identity("name", normalise_name)
    phone = row.identity("phone", normalise_phone) if row.text("phone") else None
    card = row.text("card_number").upper() or None
    if card is not None and not _CARD_RE.match(card):
        row.fail("card_number", "医保卡号应为 6 到 30 位字母或数字")
    if not row.text("phone") and card is None:
        row.fail("card_number", "手机号码和医保卡号至少填写一项（绑定身份时需要其中之一）")
    region = row.required("region_code")
    if region and not _REGION_RE.match(region):
        row.fail("region_code", "行政区划代码应为 6 位数字，如 110000")
    employer = row.text("employer")[:200] or None
    enrolled_from = row.month("enrolled_from")
    retired_on = row.day("retired_on")
    deemed_text = row.text("deemed_months") or "0"
    if not _DIGITS_RE.match(deemed_text) or int(deemed_text) > MAX_DEEMED_MONTHS:
        row.fail("deemed_months", f"视同缴费月数应为 0 到 {MAX_DEEMED_MONTHS} 的整数")
    unemployed_text = row.text("unemployed").lower()
    if unemployed_text not in _TRUE | _FALSE:
        row.fail("unemployed", "应为 1/0、是/否 或留空")
    if len(row.errors) > failed:
        return None
    assert id_number is not None and name is not None and region
    return PersonFields(id_number, name, phone, card, region, employer,
                        enrolled_from, retired_on, int(deemed_text), unemployed_text in _TRUE)


def _cross_row_errors(rows: list[ImportRow]) -> list[RowError]:
    """Duplicates and disagreements between rows: one person-month twice, one card for two people."""
    errors: list[RowError] = []
    seen_month: dict[tuple[str, bool, Month], int] = {}
    first_row: dict[str, ImportRow] = {}
    card_owner: dict[str, tuple[str, int]] = {}
    for row in rows:
        person = row.person
        key = (person.id_number.value, row.is_resident_year, row.month)
        if key in seen_month:
            what = "年度" if row.is_resident_year else "月份"
            errors.append(RowError(row.line, "month", f"同一人同一{what}重复，第 {seen_month[key]} 行已有"))
        seen_month.setdefault(key, row.line)
        first = first_row.setdefault(person.id_number.value, row)
        for column in ("name", "phone", "card_number"):
            if getattr(person, column) != getattr(first.person, column):
                reason = f"与第 {first.line} 行同一身份证号码的{_LABELS[column]}不一致"
                errors.append(RowError(row.line, column, reason))
        if person.card_number:
            owner = card_owner.setdefault(person.card_number, (person.id_number.value, row.line))
            if owner[0] != person.id_number.value:
                errors.append(RowError(row.line, "card_number", f"与第 {owner[1]} 行另一人的医保卡号相同"))
    return errors


_LABELS = {"name": "姓名", "phone": "手机号码", "card_number": "医保卡号"}
