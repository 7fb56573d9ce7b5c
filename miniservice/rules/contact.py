"""The 医保 hotline, its hours and the channels for texts that know no region (failure replies, error pages, help).

The number lives in the rule files (``guidance.hotline``, 12393 — the 医疗保障 hotline; 12333 is
人社's), per region. A quote shows its region's figure; a text with no region shows the national
one, read here from the shipped rule files once per process, so no template hard-codes a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from miniservice.rules.loading import NATIONAL, load_rulebook
from miniservice.rules.schema import RegionRules


@dataclass(frozen=True, slots=True)
class Contact:
    hotline: str
    hours: str
    online: tuple[str, ...]
    offline: tuple[str, ...]

    @classmethod
    def of(cls, rules: RegionRules) -> Contact:
        guidance = rules.guidance
        return cls(guidance.hotline.value, guidance.hotline_hours.value, guidance.online.value, guidance.offline.value)


@cache
def national_contact(directory: Path) -> Contact:
    """The national hotline of a policies directory; raises ``RuleFileError`` if national.toml is broken."""
    return Contact.of(load_rulebook(directory).resolve(NATIONAL))
