"""The rule editor's form, generated from the rule schema so it can never drift from it.

Each section of :data:`~miniservice.rules.schema.SECTIONS` becomes a fieldset; each figure a row
(value, source, illustrative, note) named by its dotted path (``employee.unit_rate.value``); year
tables get a row per year plus an empty one; waiting bands are edited as TOML inline tables, one
per line. A figure left empty is inherited from the parent region. Validation is the schema's own
(pydantic, through the loader), and every problem it reports is shown at the form field whose path
is the longest prefix of the problem's location.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any, Literal, get_args, get_origin

from annotated_types import Ge, Le
from pydantic import BaseModel

from miniservice.rules import toml_writer
from miniservice.rules.loading import Problem
from miniservice.rules.schema import SECTIONS, RegionRules, Sourced, WaitingBand

HEADER_FIELDS = ("name", "version", "notes")
ValueKind = Literal["text", "lines", "bool", "choice"]

LABELS = {
    "wage": "工资基数", "employee": "职工医保（单位）", "flexible": "灵活就业", "resident": "居民医保",
    "retiree": "退休补缴", "family": "家庭共济", "reminders": "提醒", "guidance": "办理指引",
    "backpay": "补缴", "late_fee": "滞纳金", "waiting": "待遇等待期", "short_continuity": "连续参保不足时的报销比例",
    "average_monthly": "上年度职工月平均工资（元，按年份）", "premium": "个人缴费标准（元/年，按年度）",
    "unit_rate": "单位费率", "personal_rate": "个人费率", "base_floor_ratio": "缴费基数下限（倍）",
    "base_ceiling_ratio": "缴费基数上限（倍）", "line_months": "三个月线（月）",
    "continuity_reset_after_months": "断缴超过几个月连续年限清零", "due_day_next_month": "次月几日前缴纳（0=当月底）",
    "unit_window_months": "单位可补缴月数", "self_window_months": "个人可补缴月数（0=不限）",
    "self_online": "个人可线上补缴", "unit_arrears_deadline_months": "单位欠费须在几个月内补足",
    "daily_rate": "滞纳金日费率", "causes": "收取滞纳金的断缴原因", "measure": "断缴长度按月/日计",
    "unit_bands": "单位原因断缴的等待期档位", "self_bands": "个人原因断缴的等待期档位",
    "period_start": "集中缴费期开始（MM-DD）", "period_end": "集中缴费期结束（MM-DD）",
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    path: str
    kind: Literal["figure", "table", "bands"]
    value: ValueKind = "text"
    choices: tuple[str, ...] = ()
    hint: str = ""

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)


@dataclass(frozen=True, slots=True)
class Group:
    path: str
    fields: tuple[FieldSpec, ...]
    groups: tuple[Group, ...]

    @property
    def label(self) -> str:
        return LABELS.get(self.path.rsplit(".", 1)[-1], self.path)


def _hint(annotation: Any, metadata: Iterable[Any]) -> str:
    bounds = [f"≥ {m.ge}" for m in metadata if isinstance(m, Ge)] + [f"≤ {m.le}" for m in metadata if isinstance(m, Le)]
    kind = {int: "整数", bool: "是/否", str: "文字"}.get(annotation, "数值")
    return " ".join([kind, *bounds])


def _figure(path: str, model: type[Sourced]) -> FieldSpec:
    info = model.model_fields["value"]
    annotation = info.annotation
    origin = get_origin(annotation)
    if origin is tuple:
        item = get_args(annotation)[0]
        choices = tuple(e.value for e in item) if isinstance(item, type) and issubclass(item, Enum) else ()
        hint = "每行一项" + (f"，可选：{', '.join(choices)}" if choices else "")
        return FieldSpec(path, "figure", "lines", choices, hint)
    if annotation is bool:
        return FieldSpec(path, "figure", "bool", ("true", "false"), "是/否")
    if origin is Literal:
        return FieldSpec(path, "figure", "choice", tuple(str(a) for a in get_args(annotation)), "选择")
    return FieldSpec(path, "figure", "text", (), _hint(annotation, info.metadata))


def _group(path: str, model: type[BaseModel]) -> Group:
    fields: list[FieldSpec] = []
    groups: list[Group] = []
    for name, info in model.model_fields.items():
        sub, annotation = f"{path}.{name}", info.annotation
        if get_origin(annotation) is dict:
            fields.append(FieldSpec(sub, "table", "text", (), "每年一行：年份、数值、来源"))
        elif get_origin(annotation) is tuple and get_args(annotation)[0] is WaitingBand:
            fields.append(FieldSpec(sub, "bands", "text", (), "每行一个档位（TOML 内联表）"))
        elif isinstance(annotation, type) and issubclass(annotation, Sourced):
            fields.append(_figure(sub, annotation))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            groups.append(_group(sub, annotation))
    return Group(path, tuple(fields), tuple(groups))


@cache
def schema_groups() -> tuple[Group, ...]:
    """One group per rule-file section, in schema order."""
    return tuple(_group(name, model) for name, model in SECTIONS.items())


def all_fields(groups: Iterable[Group] | None = None) -> list[FieldSpec]:
    found: list[FieldSpec] = []
    for group in schema_groups() if groups is None else groups:
        found += group.fields
        found += all_fields(group.groups)
    return found


def _dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return None
        data = data[part]
    return data


def _plant(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[last] = value


def show(value: Any) -> str:
    """A value as the form (and the diff) shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return "\n".join(show(v) for v in value)
    return "" if value is None else str(value)


def bands_text(bands: list[Any]) -> str:
    """Bands as TOML inline tables, one per line (what the textarea holds)."""
    body = toml_writer.dumps({"b": bands}).strip().splitlines()[1:-1]
    return "\n".join(line.strip().rstrip(",") for line in body)


def parse_bands(text: str) -> tuple[list[Any], list[str]]:
    """Bands from the textarea (one inline table a line) and a message for each line that is not one."""
    bands: list[Any] = []
    errors: list[str] = []
    lines = [line.strip().rstrip(",") for line in text.splitlines()]
    for number, line in enumerate(lines, 1):
        if not line:
            continue
        try:
            bands.append(tomllib.loads(f"band = {line}")["band"])
        except tomllib.TOMLDecodeError as exc:
            errors.append(f"第 {number} 行不是 TOML 内联表 {{ over = …, wait = … }}：{exc}")
    return bands, errors


def initial_values(raw: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Form values from a file's own content, and the years each table lists."""
    values = {name: show(raw.get(name)) for name in HEADER_FIELDS}
    years: dict[str, list[str]] = {}
    for spec in all_fields():
        found = _dig(raw, spec.path)
        if found is None:
            continue
        if spec.kind == "bands":
            values[spec.path] = bands_text(list(found))
        elif spec.kind == "table":
            years[spec.path] = sorted(str(year) for year in found)
            for year, figure in found.items():
                _figure_values(values, f"{spec.path}.{year}", figure)
        else:
            _figure_values(values, spec.path, found)
    return values, years


def _figure_values(values: dict[str, str], path: str, figure: Mapping[str, Any]) -> None:
    values[f"{path}.value"] = show(figure.get("value"))
    values[f"{path}.source"] = show(figure.get("source"))
    values[f"{path}.note"] = show(figure.get("note"))
    if figure.get("illustrative"):
        values[f"{path}.illustrative"] = "on"


def _figure_from(form: Mapping[str, str], path: str, kind: ValueKind) -> dict[str, Any] | None:
    """A figure from its inputs, or None when value and source are both empty (inherit)."""
    value, source = form.get(f"{path}.value", "").strip(), form.get(f"{path}.source", "").strip()
    if not value and not source:
        return None
    figure: dict[str, Any] = {"source": source}
    if value:
        if kind == "lines":
            figure["value"] = [line.strip() for line in value.splitlines() if line.strip()]
        elif kind == "bool":
            figure["value"] = {"true": True, "false": False}.get(value, value)
        else:
            figure["value"] = value
    if form.get(f"{path}.illustrative"):
        figure["illustrative"] = True
    if note := form.get(f"{path}.note", "").strip():
        figure["note"] = note
    return figure


def table_years(form: Mapping[str, str], path: str) -> list[str]:
    """Years present in a submitted table (existing rows and the new row)."""
    prefix = f"{path}."
    years = {key[len(prefix):-len(".value")] for key in form if key.startswith(prefix) and key.endswith(".value")}
    return sorted(y for y in years if y != "+")


def raw_from_form(form: Mapping[str, str], header: Mapping[str, Any]) -> tuple[dict[str, Any], list[Problem]]:
    """The file content the form describes (unparsed), and problems only the form can see."""
    raw: dict[str, Any] = dict(header)
    raw["name"] = form.get("name", "").strip()
    raw["version"] = form.get("version", "").strip()
    raw["notes"] = [line.strip() for line in form.get("notes", "").splitlines() if line.strip()]
    problems: list[Problem] = []
    for spec in all_fields():
        if spec.kind == "bands":
            bands, errors = parse_bands(form.get(spec.path, ""))
            problems += [Problem("form", spec.path, error) for error in errors]
            if bands:
                _plant(raw, spec.path, bands)
        elif spec.kind == "table":
            rows = {year: _figure_from(form, f"{spec.path}.{year}", "text") for year in table_years(form, spec.path)}
            new_year = form.get(f"{spec.path}.+.year", "").strip()
            if new_year:
                rows[new_year] = _figure_from(form, f"{spec.path}.+", "text")
            rows = {year: figure for year, figure in rows.items() if figure is not None}
            if rows:
                _plant(raw, spec.path, rows)
        elif (figure := _figure_from(form, spec.path, spec.value)) is not None:
            _plant(raw, spec.path, figure)
    return raw, problems


def errors_by_field(problems: Iterable[Problem]) -> tuple[dict[str, list[str]], list[str]]:
    """Problems keyed by the form field they belong to; the rest are general."""
    targets = sorted([*HEADER_FIELDS, "parent", "code", "effective_from", *(s.path for s in all_fields())],
                     key=len, reverse=True)
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems:
        where = problem.field
        target = next((t for t in targets if where == t or where.startswith((t + ".", t + "["))), None)
        if target is None:
            general.append(str(problem) if problem.field else problem.reason)
            continue
        rest = where[len(target):].lstrip(".")
        by_field.setdefault(target, []).append(f"{rest}：{problem.reason}" if rest else problem.reason)
    return by_field, general


def effective_hints(rules: RegionRules) -> dict[str, str]:
    """What applies for each field after inheritance, and which file it comes from."""
    hints: dict[str, str] = {}
    for spec in all_fields():
        node: Any = rules
        for part in spec.path.split("."):
            node = getattr(node, part)
        if spec.kind == "table":
            hints[spec.path] = "；".join(f"{year}: {fig.value}（{_origin(fig)}）" for year, fig in sorted(node.items()))
        elif spec.kind == "bands":
            hints[spec.path] = f"{len(node)} 个档位（{_origin(node[0])}）"
        else:
            hints[spec.path] = f"{show(node.value)}（{_origin(node)}）".replace("\n", ", ")
    return hints


def _origin(figure: Sourced) -> str:
    origin = figure.origin
    return f"{origin.code}@{origin.version}" if origin else ""
