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

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from miniservice.rules import toml_writer
from miniservice.rules.schema import SECTIONS, RegionFile, RegionHeader, RegionRules

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


def parse_region(text: str, filename: str = "<text>") -> RegionHeader:
    """Parse and validate one file's text; raises :class:`RuleFileError` listing every problem.

    The result is a ``RegionFile`` (typed here as its base, ``RegionHeader``, because the class is
    generated from the section models).
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
    if problems:
        raise RuleFileError(problems)
    return region


def load_region_file(path: str | Path) -> RegionHeader:
    path = Path(path)
    return parse_region(path.read_text(encoding="utf-8"), path.name)


def dump_toml(region: RegionHeader) -> str:
    """TOML text for one region file such that ``parse_region(dump_toml(x)) == x``."""
    return toml_writer.dumps(region.model_dump(mode="python", exclude_none=True))


def _stamp(raw: Any, origin: dict[str, Any]) -> Any:
    """Copy of ``raw`` in which every sourced mapping carries ``origin``."""
    if isinstance(raw, Mapping):
        stamped = {k: _stamp(v, origin) for k, v in raw.items()}
        if "source" in raw:
            stamped["origin"] = origin
        return stamped
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

    files: dict[str, RegionHeader] = field(default_factory=dict)  # code → RegionFile
    filenames: dict[str, str] = field(default_factory=dict)  # code → file name
    problems: list[Problem] = field(default_factory=list)  # per-file problems found while adding
    broken: set[str] = field(default_factory=set)  # codes named by files that failed to parse

    def add(self, filename: str, text: str) -> RegionHeader | None:
        """Add one file; problems are recorded, not raised. Returns the file when it is valid."""
        try:
            region = parse_region(text, filename)
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
            return RegionRules.model_validate({**merged, **header, "chain": tuple(chain)})
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


def load_rulebook(directory: str | Path) -> RuleBook:
    """Read every ``*.toml`` of ``directory``; problems are collected in ``book.problems``."""
    book = RuleBook()
    for path in sorted(Path(directory).glob("*.toml")):
        book.add(path.name, path.read_text(encoding="utf-8"))
    return book


def rulebook_from_texts(texts: Mapping[str, str]) -> RuleBook:
    """A rule book from ``{file name: TOML text}``, e.g. to preview an imported version."""
    book = RuleBook()
    for filename, text in sorted(texts.items()):
        book.add(filename, text)
    return book


def check_directory(path: str | Path) -> list[Problem]:
    """Every problem in a policies directory; an empty list means every region resolves."""
    return load_rulebook(path).check()


def resolve_region(directory: str | Path, code: str) -> RegionRules:
    """Resolved rules for ``code`` (with city/province/national fallback) from ``directory``."""
    return load_rulebook(directory).region_for(code)
