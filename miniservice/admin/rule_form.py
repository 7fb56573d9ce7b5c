"""The rule editor's form, generated from the rule schema so it can never drift from it.

Each section of :data:`~miniservice.rules.schema.SECTIONS` becomes a fieldset; each figure a row
(value, source, note, illustrative) whose inputs are named by its dotted path
(``employee.unit_rate.value``). Year tables get a row per year plus an empty one; waiting-period
bands are table rows (``flexible.waiting.self_bands.0.over`` …) that staff add, remove and move with
submit buttons, so the editor works without JavaScript. A figure left empty is inherited from the
parent region. Validation is the schema's own (pydantic, through the loader); every problem it
reports is shown, in Chinese, at the form input its location names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from functools import cache
from types import UnionType
from typing import Any, Literal, get_args, get_origin

from annotated_types import Ge, Le
from pydantic import BaseModel

from miniservice.admin import labels
from miniservice.admin.messages import reason_in_chinese, where_in_chinese
from miniservice.rules.loading import Problem
from miniservice.rules.schema import SECTIONS, RegionRules, Sourced, WaitingBand
from miniservice.rules.sources import KIND_LABELS, SourceDoc

HEADER_FIELDS = ("name", "version", "notes", "effective_from")
ValueKind = Literal["text", "lines", "bool", "choice", "multi"]


def _is_text(annotation: Any) -> bool:
    return annotation is str or set(get_args(annotation)) == {str, type(None)}


# What a figure says besides its value: its text parts get inputs (source, note …); its lists (further
# sources, say) have no inputs and travel through the form unchanged in one hidden ``.kept`` input.
SOURCED_TEXT = tuple(n for n, i in Sourced.model_fields.items() if n != "origin" and _is_text(i.annotation))
SOURCED_KEPT = tuple(n for n, i in Sourced.model_fields.items() if get_origin(i.annotation) is tuple)


class FormTampered(ValueError):
    """A hidden input the page never wrote (forged or damaged): the request is refused."""


class FormValues(dict[str, str]):
    """What the form shows: one string per input name (the values of a multi-choice joined by lines)."""


class _Worded:
    """A schema name's Chinese words (label, unit, choices), for form fields and band columns alike."""

    __slots__ = ()
    name: str

    @property
    def label(self) -> str:
        return labels.words(self.name).label

    @property
    def unit(self) -> str:
        return labels.words(self.name).unit

    def choice_label(self, choice: str) -> str:
        return labels.choice(self.name, choice)


@dataclass(frozen=True, slots=True)
class FieldSpec(_Worded):
    path: str
    kind: Literal["figure", "table", "bands"]
    value: ValueKind = "text"
    choices: tuple[str, ...] = ()
    hint: str = ""

    @property  # type: ignore[override]
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]


@dataclass(frozen=True, slots=True)
class Group:
    path: str
    fields: tuple[FieldSpec, ...]
    groups: tuple[Group, ...]

    @property
    def label(self) -> str:
        return labels.SECTIONS[self.path.rsplit(".", 1)[-1]]


def _hint(annotation: Any, metadata: Iterable[Any]) -> str:
    """What kind of value to type, in words: 整数，不小于 0."""
    kind = {int: "整数", str: "文字", Decimal: "数字"}.get(annotation, "")
    bounds = [f"不小于 {m.ge}" for m in metadata if isinstance(m, Ge)]
    bounds += [f"不大于 {m.le}" for m in metadata if isinstance(m, Le)]
    return "，".join(part for part in (kind, *bounds) if part)


def _enum_values(annotation: Any) -> tuple[str, ...]:
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return tuple(str(member.value) for member in annotation)
    if get_origin(annotation) is Literal:
        return tuple(str(arg) for arg in get_args(annotation))
    return ()


def _figure(path: str, model: type[Sourced]) -> FieldSpec:
    info = model.model_fields["value"]
    annotation = info.annotation
    if get_origin(annotation) is tuple:
        item = get_args(annotation)[0]
        if choices := _enum_values(item):
            return FieldSpec(path, "figure", "multi", choices, "可多选")
        inner = get_args(item)
        hint = _hint(inner[0], inner[1:]) if get_origin(item) is not None and inner else ""
        return FieldSpec(path, "figure", "lines", (), "，".join(filter(None, ("每行一项", hint))))
    if annotation is bool:
        return FieldSpec(path, "figure", "bool", ("true", "false"))
    if choices := _enum_values(annotation):
        return FieldSpec(path, "figure", "choice", choices)
    return FieldSpec(path, "figure", "text", (), _hint(annotation, info.metadata))


def _required(annotation: Any) -> Any:
    """``X | None`` (a figure newer rule files have and older stored versions lack) is edited as ``X``."""
    args = get_args(annotation)
    if isinstance(annotation, UnionType) and type(None) in args:
        return next(arg for arg in args if arg is not type(None))
    return annotation


def _group(path: str, model: type[BaseModel]) -> Group:
    fields: list[FieldSpec] = []
    groups: list[Group] = []
    for name, info in model.model_fields.items():
        sub, annotation = f"{path}.{name}", _required(info.annotation)
        if get_origin(annotation) is dict:
            fields.append(FieldSpec(sub, "table", "text", (), "每年一行；清空数值和来源即删除该年"))
        elif get_origin(annotation) is tuple and get_args(annotation)[0] is WaitingBand:
            fields.append(FieldSpec(sub, "bands", "text", (), "每档一行；断缴长度超过该档的“断缴超过”时适用"))
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


@dataclass(frozen=True, slots=True)
class BandColumn(_Worded):
    name: str
    kind: Literal["int", "number", "choice", "check", "text"]
    choices: tuple[str, ...] = ()


def _band_column(name: str) -> BandColumn:
    annotation = WaitingBand.model_fields[name].annotation
    if _is_text(annotation):
        return BandColumn(name, "text")
    if choices := _enum_values(annotation):
        return BandColumn(name, "choice", choices)
    kind = {int: "int", Decimal: "number", bool: "check"}.get(annotation, "text")  # type: ignore[call-overload]
    return BandColumn(name, kind)  # type: ignore[arg-type]


_BAND_ORDER = ("over", "wait", "months", "ratio_during_wait", "gap_bills_reimbursable", "continuity", "illustrative",
               "label", "source", "note")  # how a clerk reads a band: when, then what, then why
BAND_COLUMNS = tuple(_band_column(name) for name in (
    *_BAND_ORDER, *(n for n in WaitingBand.model_fields if n not in _BAND_ORDER and n != "origin"
                    and n not in SOURCED_KEPT)))
_BAND_TEXT = tuple(c.name for c in BAND_COLUMNS if c.kind != "check")


def _kept_text(item: Mapping[str, Any]) -> str:
    kept = {name: list(item[name]) for name in SOURCED_KEPT if item.get(name)}
    return json.dumps(kept, ensure_ascii=False, default=str) if kept else ""


def _kept_from(text: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        kept = json.loads(text)
    except ValueError as exc:
        raise FormTampered(text[:40]) from exc
    if not isinstance(kept, dict) or not set(kept) <= set(SOURCED_KEPT):
        raise FormTampered(text[:40])
    return kept


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
    """A value as an input holds it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "\n".join(show(v) for v in value)
    return "" if value is None else str(value)


def initial_values(raw: Mapping[str, Any]) -> tuple[FormValues, dict[str, list[str]], dict[str, int]]:
    """Form values from a file's own content, the years each table lists and the rows of each band table."""
    values = FormValues({name: show(raw.get(name)) for name in HEADER_FIELDS})
    years: dict[str, list[str]] = {}
    rows: dict[str, int] = {}
    for spec in all_fields():
        found = _dig(raw, spec.path)
        if found is None:
            continue
        if spec.kind == "bands":
            rows[spec.path] = _put_bands(values, spec.path, [_band_strings(band) for band in found])
        elif spec.kind == "table":
            years[spec.path] = sorted(str(year) for year in found)
            for year, figure in found.items():
                _figure_values(values, f"{spec.path}.{year}", figure)
        else:
            _figure_values(values, spec.path, found)
    return values, years, rows


def _band_strings(band: Mapping[str, Any]) -> dict[str, str]:
    strings = {name: show(band.get(name)) for name in _BAND_TEXT}
    strings["kept"] = _kept_text(band)
    for column in BAND_COLUMNS:
        if column.kind == "check" and band.get(column.name):
            strings[column.name] = "on"
    return strings


def _put_bands(values: FormValues, path: str, bands: list[dict[str, str]]) -> int:
    for index, band in enumerate(bands):
        for name, text in band.items():
            if text:
                values[f"{path}.{index}.{name}"] = text
    return len(bands)


def _figure_values(values: FormValues, path: str, figure: Mapping[str, Any]) -> None:
    values[f"{path}.value"] = show(figure.get("value"))
    for part in SOURCED_TEXT:
        values[f"{path}.{part}"] = show(figure.get(part))
    if kept := _kept_text(figure):
        values[f"{path}.kept"] = kept
    if figure.get("illustrative"):
        values[f"{path}.illustrative"] = "on"


def _one(form: Any, key: str) -> str:
    return str(form.get(key, "") or "")


def _many(form: Any, key: str) -> list[str]:
    if hasattr(form, "getlist"):
        return [str(v) for v in form.getlist(key)]
    return [str(form[key])] if key in form else []


def _figure_from(form: Any, path: str, kind: ValueKind) -> dict[str, Any] | None:
    """A figure from its inputs, or None when value and source are both empty (inherit)."""
    value, source = _one(form, f"{path}.value").strip(), _one(form, f"{path}.source").strip()
    chosen = [v for v in _many(form, f"{path}.value") if v] if kind == "multi" else []
    if not value and not chosen and not source:
        return None
    figure: dict[str, Any] = {"source": source}
    if kind == "multi":
        figure["value"] = chosen
    elif value:
        if kind == "lines":
            figure["value"] = [line.strip() for line in value.splitlines() if line.strip()]
        elif kind == "bool":
            figure["value"] = {"true": True, "false": False}.get(value, value)
        else:
            figure["value"] = value
    if _one(form, f"{path}.illustrative"):
        figure["illustrative"] = True
    for part in SOURCED_TEXT:
        if part != "source" and (text := _one(form, f"{path}.{part}").strip()):
            figure[part] = text
    figure.update(_kept_from(_one(form, f"{path}.kept")))
    return figure


def table_years(form: Mapping[str, Any], path: str) -> list[str]:
    """Years present in a submitted table (existing rows, not the new one)."""
    prefix = f"{path}."
    years = {key[len(prefix):-len(".value")] for key in form if key.startswith(prefix) and key.endswith(".value")}
    return sorted(y for y in years if y.isdigit())


def band_rows(form: Mapping[str, Any], path: str) -> list[dict[str, str]]:
    """The submitted rows of one band table, in row order, each as column → text."""
    pattern = re.compile(rf"{re.escape(path)}\.(\d+)\.(\w+)")
    rows: dict[int, dict[str, str]] = {}
    for key in form:
        if match := pattern.fullmatch(key):
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = _one(form, key).strip()
    return [rows[index] for index in sorted(rows)]


def _is_blank(row: Mapping[str, str]) -> bool:
    return not any(row.get(name) for name in _BAND_TEXT)


def _band_from(row: Mapping[str, str]) -> dict[str, Any]:
    band: dict[str, Any] = _kept_from(row.get("kept", ""))
    for column in BAND_COLUMNS:
        text = row.get(column.name, "")
        if column.kind == "check":
            band[column.name] = bool(text)
        elif text or column.name == "source":
            band[column.name] = text
    return band


def raw_from_form(form: Mapping[str, Any], header: Mapping[str, Any]) -> dict[str, Any]:
    """The file content the form describes (unparsed: the schema checks it)."""
    raw: dict[str, Any] = dict(header)
    raw["name"] = _one(form, "name").strip()
    raw["version"] = _one(form, "version").strip()
    raw["notes"] = [line.strip() for line in _one(form, "notes").splitlines() if line.strip()]
    for spec in all_fields():
        if spec.kind == "bands":
            bands = [_band_from(row) for row in band_rows(form, spec.path) if not _is_blank(row)]
            if bands:
                _plant(raw, spec.path, bands)
        elif spec.kind == "table":
            rows = {year: _figure_from(form, f"{spec.path}.{year}", "text") for year in table_years(form, spec.path)}
            new_year = _one(form, f"{spec.path}.+.year").strip()
            if new_year:
                rows[new_year] = _figure_from(form, f"{spec.path}.+", "text")
            rows = {year: figure for year, figure in rows.items() if figure is not None}
            if rows:
                _plant(raw, spec.path, rows)
        elif (figure := _figure_from(form, spec.path, spec.value)) is not None:
            _plant(raw, spec.path, figure)
    return raw


def shown_values(form: Any, *, keep_blank_rows: bool) -> tuple[FormValues, dict[str, list[str]], dict[str, int]]:
    """What to show again after a submission: what was typed, band rows renumbered from 0.

    Blank band rows are dropped after a save attempt (the schema's row numbers then match the
    rows shown) and kept after a row action (the row just added is blank).
    """
    bands = {s.path for s in all_fields() if s.kind == "bands"}
    multi = {f"{s.path}.value" for s in all_fields() if s.value == "multi"}
    band_key = re.compile(r"(.+)\.\d+\.\w+")
    values = FormValues()
    for key in form:
        match = band_key.fullmatch(key)
        if match and match.group(1) in bands:
            continue
        values[key] = "\n".join(_many(form, key)) if key in multi else _one(form, key)
    rows = {}
    for path in bands:
        found = [row for row in band_rows(form, path) if keep_blank_rows or not _is_blank(row)]
        rows[path] = _put_bands(values, path, found)
    years = {s.path: table_years(form, s.path) for s in all_fields() if s.kind == "table"}
    return values, years, rows


class RowActionError(ValueError):
    """A forged or stale row button (unknown table, row out of range)."""


def apply_row_action(values: FormValues, rows: dict[str, int], action: str,
                     in_force: Mapping[str, list[dict[str, str]]]) -> tuple[str, int]:
    """Add, remove, move a band row or copy the bands in force; returns (table, row to focus)."""
    path, _, rest = action.partition("|")
    operation, _, index_text = rest.partition("|")
    if path not in rows or operation not in {"add", "remove", "up", "down", "copy"}:
        raise RowActionError(action)
    current = band_rows(values, path)
    current += [{} for _ in range(rows[path] - len(current))]  # rows added but still blank
    index = int(index_text) if index_text.isdigit() else len(current)
    if operation in {"remove", "up", "down"} and not 0 <= index < len(current):
        raise RowActionError(action)
    if operation == "add":
        current.append({})
        index = len(current) - 1
    elif operation == "copy":
        current = [dict(band) for band in in_force.get(path, [])]
        index = 0
    elif operation == "remove":
        del current[index]
        index = max(index - 1, 0)
    else:
        target = index - 1 if operation == "up" else index + 1
        if 0 <= target < len(current):
            current[index], current[target] = current[target], current[index]
            index = target
    for key in [k for k in values if k.startswith(f"{path}.") and k[len(path) + 1:].split(".")[0].isdigit()]:
        del values[key]
    rows[path] = _put_bands(values, path, current)
    return path, index


@dataclass(frozen=True, slots=True)
class SourceGroup:
    """One kind of source (法律, 地方规定 …) and its documents, as the editor's select lists them."""

    label: str
    options: tuple[tuple[str, str], ...]  # (registry id, how a clerk recognises it: title, issuer, 文号, dates)


def source_groups(registry: Mapping[str, SourceDoc]) -> tuple[SourceGroup, ...]:
    """The registry as a clerk picks from it: grouped by kind in the registry's order of kinds, each
    document named as citizens will read it (never by its id, which staff cannot know)."""
    return tuple(
        SourceGroup(label, tuple(sorted((doc.id, doc.citation()) for doc in registry.values() if doc.kind is kind)))
        for kind, label in KIND_LABELS.items() if any(doc.kind is kind for doc in registry.values()))


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem where staff will look for it: the input's anchor, where in words, what in words."""

    key: str  # the input (or row, or table) the message is shown at
    where: str
    message: str

    @property
    def anchor(self) -> str:
        return f"f-{self.key}"


def _targets() -> list[str]:
    return sorted([*HEADER_FIELDS, "parent", "code", *(s.path for s in all_fields())], key=len, reverse=True)


def errors_by_field(problems: Iterable[Problem]) -> tuple[dict[str, list[str]], list[FieldError]]:
    """Chinese messages keyed by the form input they belong to, and every problem for the banner.

    A figure's message names the part that is wrong (数值, 来源 …); a band's names nothing more when
    it is shown in the cell it concerns. Problems without a field go to the banner only.
    """
    targets = _targets()
    bands = {s.path for s in all_fields() if s.kind == "bands"}
    by_field: dict[str, list[str]] = {}
    listed: list[FieldError] = []
    for problem in problems:
        where = problem.field.replace("[", ".").replace("]", "")
        reason = reason_in_chinese(problem.reason)
        target = next((t for t in targets if where == t or where.startswith(t + ".")), None)
        if target is None:
            listed.append(FieldError("", where_in_chinese(problem.field), reason))
            continue
        rest = where[len(target):].lstrip(".")
        if target in bands and rest:
            key, shown = f"{target}.{rest}", reason
        else:
            key = target
            shown = f"{labels.path_label(rest)}：{reason}" if rest else reason
        by_field.setdefault(key, []).append(shown)
        listed.append(FieldError(key, where_in_chinese(where), reason))
    return by_field, listed


def flagged(errors: Mapping[str, list[str]]) -> set[str]:
    """The fields with a message at them or at one of their inputs (their row is outlined)."""
    return {s.path for s in all_fields() if any(k == s.path or k.startswith(s.path + ".") for k in errors)}


def effective_hints(rules: RegionRules, names: Mapping[str, str]) -> dict[str, str]:
    """What is in force for each field (after inheritance), and which region's version says so."""
    hints: dict[str, str] = {}
    for spec in all_fields():
        node: Any = rules
        for part in spec.path.split("."):
            node = getattr(node, part)
        if spec.kind == "table":
            hints[spec.path] = "；".join(f"{year} 年 {fig.value}（{_origin(fig, names)}）"
                                        for year, fig in sorted(node.items()))
        elif spec.kind == "bands":
            hints[spec.path] = f"共 {len(node)} 档（{_origin(node[0], names)}）"
        else:
            hints[spec.path] = f"{_shown(spec, node.value)}（{_origin(node, names)}）"
    return hints


def bands_in_force(rules: RegionRules) -> dict[str, list[dict[str, str]]]:
    """The bands in force for each band table, as rows the form can show (for 复制当前生效的档位)."""
    found: dict[str, list[dict[str, str]]] = {}
    for spec in all_fields():
        if spec.kind == "bands":
            node: Any = rules
            for part in spec.path.split("."):
                node = getattr(node, part)
            found[spec.path] = [_band_strings(band.model_dump(mode="python", exclude={"origin"})) for band in node]
    return found


def _shown(spec: FieldSpec, value: Any) -> str:
    if spec.value in ("multi", "choice", "bool"):
        items = value if isinstance(value, tuple) else (value,)
        return "、".join(spec.choice_label(show(item)) for item in items)
    return show(value).replace("\n", "、")


def _origin(figure: Sourced, names: Mapping[str, str]) -> str:
    origin = figure.origin
    if origin is None:
        return ""
    return f"{names.get(origin.code, origin.code)} {origin.version} 版"
