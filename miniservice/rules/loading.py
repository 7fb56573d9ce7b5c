"""Load, check, resolve and export regional rule files.

A directory holds ``national.toml`` and one ``<GB/T 2260 code>.toml`` per region. Loading never
stops at the first bad file: every problem becomes a :class:`Problem` (file, field path, reason) so
the admin page and ``miniservice policies check`` can show them all. Resolution merges a region with
its parents field by field (region → province → national) and stamps every figure with the file,
version and effective date it came from, which is what quotes cite.

A region code that has no file of its own falls back to its city (``440304`` → ``440300``), then its
province (``440000``), then national — see :meth:`RuleBook.region_for`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from miniservice.rules import toml_writer
from miniservice.rules.schema import SECTIONS, RegionFile, RegionHeader, RegionRules, Sourced
from miniservice.rules.sources import (
    SOURCES_FILE,
    SourceDoc,
    SourceKind,
    SourceRegistryError,
    default_registry,
    parse_sources,
)

NATIONAL = "national"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a rule file, precise enough to fix without reading code."""

    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field or '(file)'}: {self.reason}"


class RuleFileError(ValueError):
    """Raised when a file or a region cannot be used; carries every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def _loc(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _problems_from(error: ValidationError, file: str, missing_reason: str = "required") -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        reason = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            reason = "figure has no source" if loc and loc[-1] == "source" else missing_reason
        problems.append(Problem(file, _loc(loc), reason))
    return problems


def _origin_keys(raw: Any, path: str = "") -> Iterable[str]:
    """Paths where a file sets ``origin``, which only the loader may set."""
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            sub = f"{path}.{key}" if path else str(key)
            if key == "origin":
                yield sub
            else:
                yield from _origin_keys(value, sub)
    elif isinstance(raw, list):
        for index, value in enumerate(raw):
            yield from _origin_keys(value, f"{path}[{index}]")


def parse_region(text: str, filename: str = "<text>", sources: Mapping[str, SourceDoc] | None = None,
                 *, require_quotes: bool = False) -> RegionHeader:
    """Parse and validate one file's text; raises :class:`RuleFileError` listing every problem.

    Every figure's source must be an id of ``sources`` (the shipped registry unless given), see
    :func:`citation_problems`. The result is a ``RegionFile`` (typed here as its base,
    ``RegionHeader``, because the class is generated from the section models).
    """
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError([Problem(filename, "", f"TOML syntax error: {exc}")]) from exc
    problems = [Problem(filename, p, "origin is set by the loader; remove it") for p in _origin_keys(raw)]
    try:
        region = RegionFile.model_validate(raw)
    except ValidationError as exc:
        problems += _problems_from(exc, filename)
        raise RuleFileError(problems) from exc
    expected = Path(filename).stem
    if filename != "<text>" and expected != region.code:
        problems.append(Problem(filename, "code", f"code {region.code!r} does not match the file name"))
    registry = default_registry() if sources is None else sources
    problems += citation_problems(region, registry, filename, require_quotes=require_quotes)
    if require_quotes:
        problems += period_year_problems(region, filename)
    if problems:
        raise RuleFileError(problems)
    return region


_LATIN = re.compile(r"[A-Za-z]+")
_LATIN_ALLOWED = {"APP", "App"}


def _latin(text: str) -> list[str]:
    return [word for word in _LATIN.findall(text) if word not in _LATIN_ALLOWED]


def sourced_nodes(node: Any, path: str = "") -> Iterable[tuple[str, Sourced]]:
    """Every sourced figure or band under ``node`` (a file, a resolved region, a section), with its path."""
    if isinstance(node, Sourced):
        yield path, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from sourced_nodes(getattr(node, name), f"{path}.{name}" if path else name)
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield from sourced_nodes(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, tuple):
        for index, value in enumerate(node):
            yield from sourced_nodes(value, f"{path}[{index}]")


def citation_problems(region: RegionHeader, sources: Mapping[str, SourceDoc], filename: str,
                      *, require_quotes: bool = False) -> list[Problem]:
    """What is wrong with the citations of one parsed file.

    Every ``source`` (and every ``also``/``differs`` entry) must be a registry id; a figure that cites
    this service's own estimate must be illustrative; what citizens read beside a figure (``note``,
    a band's ``label``, what a differing source ``says``) must be Chinese. With ``require_quotes``
    (the shipped files, ``miniservice policies check``) a figure resting on a document must quote
    the sentence, and an illustrative figure must say in a note why.
    """
    problems: list[Problem] = []
    sections = {name: getattr(region, name) for name in SECTIONS if getattr(region, name, None) is not None}
    for path, figure in sourced_nodes(sections):
        def bad(where: str, reason: str, path: str = path) -> None:
            problems.append(Problem(filename, f"{path}.{where}", reason))

        main = sources.get(figure.source)
        if main is None:
            bad("source", f"unknown source {figure.source!r}: not in the source registry ({SOURCES_FILE})")
        for index, other in enumerate((*figure.also, *figure.differs)):
            where = f"also[{index}]" if index < len(figure.also) else f"differs[{index - len(figure.also)}]"
            if other.source not in sources:
                bad(f"{where}.source", f"unknown source {other.source!r}: not in the source registry ({SOURCES_FILE})")
        if main is not None and main.kind is SourceKind.ESTIMATE and not figure.illustrative:
            bad("illustrative", f"{figure.source!r} is this service's estimate: set illustrative = true")
        if require_quotes and main is not None and main.is_document and not figure.quote:
            bad("quote", "quote the sentence of the source this figure rests on")
        if require_quotes and figure.illustrative and not figure.note:
            bad("note", "an illustrative figure needs a note (in Chinese) saying why")
        shown = {"note": figure.note, "label": getattr(figure, "label", None),
                 **{f"differs[{i}].says": d.says for i, d in enumerate(figure.differs)}}
        for where, text in shown.items():
            if text and (words := _latin(text)):
                bad(where, f"citizens read this: write it in Chinese (found {', '.join(words)})")
    return problems


def period_year_problems(region: RegionHeader, filename: str) -> list[Problem]:
    """A file that gives 集中缴费期 dates must say which coverage year they were given for.

    Figures inherit one by one: dates without ``period_years`` beside them would take the parent's
    year, and a quote would present a guessed year's dates as stated. Checked for the shipped files
    (``miniservice policies check``); stored versions from before the field still load.
    """
    resident = getattr(region, "resident", None)
    if resident is None or (resident.period_start is None and resident.period_end is None):
        return []
    if resident.period_years is None:
        return [Problem(filename, "resident.period_years",
                        "say which coverage year(s) the source gives period_start/period_end for")]
    return []


def load_region_file(path: str | Path) -> RegionHeader:
    path = Path(path)
    return parse_region(path.read_text(encoding="utf-8"), path.name)


def dump_toml(region: RegionHeader) -> str:
    """TOML text for one region file such that ``parse_region(dump_toml(x)) == x``."""
    return toml_writer.dumps(region.model_dump(mode="python", exclude_none=True))


def _stamp(raw: Any, origin: dict[str, Any]) -> Any:
    """Copy of ``raw`` in which every sourced mapping carries ``origin``."""
    if isinstance(raw, Mapping):
        if "source" in raw:  # a figure or band: its also/differs entries are not figures
            return {**raw, "origin": origin}
        return {k: _stamp(v, origin) for k, v in raw.items()}
    if isinstance(raw, list | tuple):
        return [_stamp(v, origin) for v in raw]
    return raw


def _atomic(value: Any) -> bool:
    """Figures, band lists and year tables are inherited whole, never mixed with a parent's.

    A year table (wages, premiums) is one series from one authority: a city's 2024 wage next to the
    national 2023 one would be a false series, so a region that gives any year gives the table.
    """
    if not isinstance(value, Mapping):
        return True
    return "source" in value or (bool(value) and all(isinstance(k, int) for k in value))


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Field-by-field inheritance: sections merge, atomic values replace."""
    merged = dict(base)
    for key, value in over.items():
        old = merged.get(key)
        merged[key] = value if _atomic(value) or not isinstance(old, dict) else _merge(old, value)
    return merged


@dataclass
class RuleBook:
    """Every rule file of a directory (or of texts handed in by the admin page), checked."""

    sources: Mapping[str, SourceDoc] = field(default_factory=default_registry)  # the source registry
    require_quotes: bool = False  # every figure resting on a document must quote it (shipped files)
    files: dict[str, RegionHeader] = field(default_factory=dict)  # code → RegionFile
    filenames: dict[str, str] = field(default_factory=dict)  # code → file name
    problems: list[Problem] = field(default_factory=list)  # per-file problems found while adding
    broken: set[str] = field(default_factory=set)  # codes named by files that failed to parse

    def add(self, filename: str, text: str) -> RegionHeader | None:
        """Add one file; problems are recorded, not raised. Returns the file when it is valid."""
        try:
            region = parse_region(text, filename, self.sources, require_quotes=self.require_quotes)
        except RuleFileError as exc:
            self.problems += exc.problems
            self.broken.add(Path(filename).stem)
            return None
        if region.code in self.files:
            self.problems.append(Problem(filename, "code",
                                         f"{region.code} is also defined in {self.filenames[region.code]}"))
            return None
        self.files[region.code] = region
        self.filenames[region.code] = filename
        return region

    def codes(self) -> list[str]:
        return sorted(self.files)

    def chain(self, code: str) -> list[str]:
        """Codes from ``code`` up to national; raises for a missing, broken or cyclic parent."""
        chain: list[str] = []
        current: str | None = code
        while current is not None:
            if current in chain:
                cycle = " → ".join([*chain[chain.index(current):], current])
                raise RuleFileError([Problem(self.filenames[code], "parent", f"parent cycle: {cycle}")])
            if current not in self.files:
                where = self.filenames.get(chain[-1], code) if chain else code
                reason = (f"parent {current!r} has problems of its own" if current in self.broken
                          else f"unknown parent {current!r}: no {current}.toml")
                raise RuleFileError([Problem(where, "parent" if chain else "code", reason)])
            chain.append(current)
            current = self.files[current].parent
        if chain[-1] != NATIONAL:
            raise RuleFileError([Problem(self.filenames[chain[-1]], "parent", "chain does not end at national")])
        return chain

    def resolve(self, code: str) -> RegionRules:
        """The region's complete rules, inherited field by field; raises :class:`RuleFileError`."""
        chain = self.chain(code)
        merged: dict[str, Any] = {}
        for member in reversed(chain):
            region = self.files[member]
            origin = {"file": self.filenames[member], "code": member, "version": region.version,
                      "effective_from": region.effective_from}
            sections = region.model_dump(mode="python", exclude_none=True, include=set(SECTIONS))
            merged = _merge(merged, _stamp(sections, origin))
        header = self.files[code].model_dump(mode="python", exclude=set(SECTIONS))
        try:
            return RegionRules.model_validate({**merged, **header, "chain": tuple(chain),
                                               "sources": dict(self.sources)})
        except ValidationError as exc:
            reason = f"missing after inheritance ({' → '.join(chain)})"
            raise RuleFileError(_problems_from(exc, self.filenames[code], reason)) from exc

    def region_for(self, code: str) -> RegionRules:
        """Rules for any 6-digit code: its own file, else its city, province, or national."""
        for candidate in _fallbacks(code):
            if candidate in self.files:
                return self.resolve(candidate)
        raise RuleFileError([Problem(f"{code}.toml", "code", "no rule file for this region or its parents")])

    def check(self) -> list[Problem]:
        """Every per-file problem plus every region that fails to resolve."""
        problems = list(self.problems)
        if NATIONAL not in self.files and NATIONAL not in self.broken:
            problems.append(Problem("national.toml", "", "national.toml is missing"))
        for code in self.codes():
            try:
                self.resolve(code)
            except RuleFileError as exc:
                problems += [p for p in exc.problems if p not in problems]
        return problems


def _fallbacks(code: str) -> list[str]:
    if not (len(code) == 6 and code.isdigit()):
        return [code]
    return list(dict.fromkeys([code, code[:4] + "00", code[:2] + "0000", NATIONAL]))


def load_rulebook(directory: str | Path, *, require_quotes: bool = False) -> RuleBook:
    """Read every ``*.toml`` of ``directory``; problems are collected in ``book.problems``.

    ``sources.toml`` there is the source registry (the shipped one when the directory has none).
    """
    texts = {path.name: path.read_text(encoding="utf-8") for path in sorted(Path(directory).glob("*.toml"))}
    return rulebook_from_texts(texts, require_quotes=require_quotes)


def rulebook_from_texts(texts: Mapping[str, str], *, require_quotes: bool = False) -> RuleBook:
    """A rule book from ``{file name: TOML text}``, e.g. to preview an imported version.

    A ``sources.toml`` among the texts is the registry the others are checked against.
    """
    book = RuleBook(require_quotes=require_quotes)
    if SOURCES_FILE in texts:
        try:
            book.sources = parse_sources(texts[SOURCES_FILE])
        except SourceRegistryError as exc:
            book.problems += [Problem(SOURCES_FILE, "", reason) for reason in exc.reasons]
    for filename, text in sorted(texts.items()):
        if filename != SOURCES_FILE:
            book.add(filename, text)
    return book


def check_directory(path: str | Path) -> list[Problem]:
    """Every problem in a policies directory, quotes included; an empty list means every region resolves."""
    return load_rulebook(path, require_quotes=True).check()


def resolve_region(directory: str | Path, code: str) -> RegionRules:
    """Resolved rules for ``code`` (with city/province/national fallback) from ``directory``."""
    return load_rulebook(directory).region_for(code)
