"""The source registry: every document a rule figure may cite, described so a person can find it.

A figure in a rule file names its source by id (``source = "law-social-insurance"``) and quotes the
sentence it rests on. The registry (``policies/sources.toml``) says what that id is: title, issuer,
文号, published and effective dates, URL where public, and its kind. Citizens are shown the title
and issuer, never the id; staff pick ids from :func:`default_registry`.

Two kinds are not documents: ``estimate`` (a figure this service had to assume; every figure citing
it must be marked illustrative) and ``service`` (a setting of this service, such as when reminders
go out, which is not a policy figure at all).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from miniservice.paths import POLICIES_DIR

SOURCES_FILE = "sources.toml"
SHIPPED = POLICIES_DIR / SOURCES_FILE


class SourceKind(StrEnum):
    LAW = "law"
    NATIONAL = "national"  # a national policy document or official national figure
    LOCAL = "local"  # a local notice or rule
    ARTICLE = "article"  # a published article (not an official document)
    ESTIMATE = "estimate"  # this service's assumption: figures citing it are illustrative
    SERVICE = "service"  # this service's own setting, not a policy figure


KIND_LABELS = {
    SourceKind.LAW: "法律",
    SourceKind.NATIONAL: "国家政策文件",
    SourceKind.LOCAL: "地方规定",
    SourceKind.ARTICLE: "网络文章（仅供参考）",
    SourceKind.ESTIMATE: "本服务估算",
    SourceKind.SERVICE: "本服务设置",
}
DOCUMENT_KINDS = frozenset({SourceKind.LAW, SourceKind.NATIONAL, SourceKind.LOCAL, SourceKind.ARTICLE})


class SourceDoc(BaseModel):
    """One citable document (or this service's own assumption), as a reader would look it up."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=60)]
    title: Annotated[str, Field(min_length=1)]
    issuer: Annotated[str, Field(min_length=1)]
    kind: SourceKind
    number: str | None = None  # 文号, e.g. 医保办发〔2021〕43号
    published: date | None = None
    effective: date | None = None
    url: Annotated[str, Field(pattern=r"^https://")] | None = None
    note: str | None = None  # a short Chinese remark shown with the citation

    @model_validator(mode="after")
    def _dates_in_order(self) -> SourceDoc:
        if self.published and self.effective and self.effective < self.published:
            raise ValueError("effective date is before the published date")
        return self

    @property
    def is_document(self) -> bool:
        return self.kind in DOCUMENT_KINDS

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    def citation(self) -> str:
        """How a citizen reads the source: 《title》（issuer，文号，date）."""
        title = self.title if not self.is_document or self.title.startswith("《") else f"《{self.title}》"
        details = [self.issuer]
        if self.number:
            details.append(self.number)
        if self.published:
            details.append(f"{self.published.isoformat()} 发布")
        if self.effective:
            details.append(f"{self.effective.isoformat()} 起施行")
        return f"{title}（{'，'.join(details)}）"


class SourceRegistryError(ValueError):
    """The registry file itself is broken; carries one reason per bad entry."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__("; ".join(reasons))


def parse_sources(text: str) -> dict[str, SourceDoc]:
    """Registry text → ``{id: SourceDoc}``; raises :class:`SourceRegistryError` listing every problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourceRegistryError([f"TOML syntax error: {exc}"]) from exc
    entries = raw.get("source", [])
    reasons = [f"unexpected key {key!r}: write each source as a [[source]] table" for key in raw if key != "source"]
    docs: dict[str, SourceDoc] = {}
    for index, entry in enumerate(entries if isinstance(entries, list) else []):
        try:
            doc = SourceDoc.model_validate(entry)
        except ValidationError as exc:
            reasons += [f"source[{index}].{'.'.join(map(str, e['loc']))}: {e['msg']}"
                        for e in exc.errors(include_url=False)]
            continue
        if doc.id in docs:
            reasons.append(f"source[{index}].id: {doc.id!r} is listed twice")
        docs[doc.id] = doc
    if reasons:
        raise SourceRegistryError(reasons)
    return docs


def load_sources(path: str | Path) -> dict[str, SourceDoc]:
    return parse_sources(Path(path).read_text(encoding="utf-8"))


@cache
def default_registry() -> Mapping[str, SourceDoc]:
    """The shipped registry, read once: what rule texts stored in the database are checked against."""
    return load_sources(SHIPPED)
