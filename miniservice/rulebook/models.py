"""Rule versions as data: each row is one region's own TOML file at one version.

A version is never edited once published: a change is a new version. Which version applies is a
question of dates (the published version with the latest ``effective_from`` on or before the day
asked about), so a version published today with a future date takes effect by itself.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from miniservice.clock import now_utc
from miniservice.columns import UTCDateTime

STATUSES = ("draft", "published", "retired")
SOURCES = ("file", "admin", "import")


class RuleVersion(SQLModel, table=True):
    __tablename__ = "rule_version"
    __table_args__ = (
        UniqueConstraint("region_code", "version", name="uq_rule_version_region_version"),
        CheckConstraint("status IN ('draft', 'published', 'retired')", name="ck_rule_version_status"),
        CheckConstraint("source IN ('file', 'admin', 'import')", name="ck_rule_version_source"),
        Index("ix_rule_version_in_force", "region_code", "status", "effective_from"),
    )

    id: int | None = Field(default=None, primary_key=True)
    region_code: str = Field(max_length=16)  # "national" or a 6-digit GB/T 2260 code
    region_name: str = Field(max_length=100)
    parent_code: str | None = Field(default=None, max_length=16)  # from the file, to walk chains without parsing
    version: str = Field(max_length=40)
    effective_from: date
    status: str = Field(default="draft", max_length=16)
    toml_text: str = Field(sa_column=Column(Text, nullable=False))
    # SHA-256 of the canonical TOML (comments and layout do not count), so a re-loaded file is a no-op.
    content_hash: str = Field(max_length=64, index=True)
    source: str = Field(max_length=16)
    based_on_id: int | None = Field(default=None, foreign_key="rule_version.id")
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(default_factory=now_utc, sa_type=UTCDateTime)
    published_by: str | None = Field(default=None, max_length=128)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retired_by: str | None = Field(default=None, max_length=128)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def filename(self) -> str:
        return f"{self.region_code}.toml"
