"""What a region's rules say about 家庭共济, read in one place.

Everything the family package needs from the rule files goes through :func:`rules_for` (the region's
rules in force on a day) and :func:`family_terms` (the 家庭共济 part of them), so that a change in the
rule schema or in where rules are stored is a change here only.

The schema does not yet say how far a relative may live from the holder; until it does, a relative
must be insured in the holder's province (national policy 2024: 省内共济 everywhere, 跨省共济 piloted),
see :data:`DEFAULT_SCOPE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from miniservice.citizens.records import rules_for as records_rules_for
from miniservice.rules.citing import Citation, Citer
from miniservice.rules.schema import RegionRules, Relation

RELATION_LABELS: dict[Relation, str] = {
    Relation.SPOUSE: "配偶",
    Relation.PARENT: "父母",
    Relation.CHILD: "子女",
    Relation.SIBLING: "兄弟姐妹",
    Relation.GRANDPARENT: "祖父母",
    Relation.MATERNAL_GRANDPARENT: "外祖父母",
    Relation.GRANDCHILD: "孙子女",
    Relation.MATERNAL_GRANDCHILD: "外孙子女",
}

# How many leading digits of the GB/T 2260 code holder and relative must share: 2 = same province.
DEFAULT_SCOPE = 2


@dataclass(frozen=True, slots=True)
class FamilyTerms:
    """The holder's region's 家庭共济 rules, with the citations a page shows beside them."""

    relationships: tuple[Relation, ...]
    max_links: int
    uses: tuple[str, ...]
    scope_digits: int
    citations: tuple[Citation, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(RELATION_LABELS[r] for r in self.relationships)

    def allows(self, relation: Relation) -> bool:
        return relation in self.relationships

    def covers(self, holder_region: str, relative_region: str) -> bool:
        """Whether a relative insured in ``relative_region`` is within the holder's 共济 area."""
        return holder_region[: self.scope_digits] == relative_region[: self.scope_digits]


def rules_for(session: Session, region_code: str, on_date: date) -> RegionRules:
    """The region's rules in force on ``on_date``: the published versions (region → province → national),
    read exactly as the records page reads them, so both pages always apply the same rules."""
    return records_rules_for(session, region_code, on_date)


def family_terms(session: Session, region_code: str, on_date: date) -> FamilyTerms:
    citer = Citer(rules_for(session, region_code, on_date))
    relationships = tuple(citer.value("family.relationships"))
    max_links = int(citer.value("family.max_links"))
    uses = tuple(citer.value("family.uses"))
    return FamilyTerms(relationships, max_links, uses, DEFAULT_SCOPE, tuple(citer.used.values()))
