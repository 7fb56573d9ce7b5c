"""What changed between two versions: field by field, and as a TOML text diff.

Figures and waiting bands are compared whole (a changed source is a change), tables are walked, so
a change reads as ``employee.unit_rate: 0.08 → 0.09`` rather than as a line of TOML.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from miniservice.rulebook.models import RuleVersion
from miniservice.rules.loading import dump_toml, parse_region


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    old: Any  # None: not set on this side
    new: Any

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        return "removed" if self.new is None else "changed"


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Leaf values by dotted path; a figure (a mapping with ``source``) is one leaf."""
    leaves: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and "source" not in value:
            leaves.update(flatten(value, path))
        elif isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value):
            leaves.update({f"{path}[{i}]": v for i, v in enumerate(value)})
        else:
            leaves[path] = value
    return leaves


def plain(model: BaseModel, exclude: set[str] | None = None) -> dict[str, Any]:
    """A model as JSON-like data (Decimals as text, no loader stamps) for comparison and display."""
    return model.model_dump(mode="json", exclude_none=True, exclude=exclude)


def field_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every leaf that differs, in path order."""
    before, after = flatten(old), flatten(new)
    return [
        Change(path, before.get(path), after.get(path))
        for path in sorted(before.keys() | after.keys())
        if before.get(path) != after.get(path)
    ]


def canonical_text(version: RuleVersion) -> str:
    """The version's text as the loader writes it, so layout and comments do not show as changes."""
    return dump_toml(parse_region(version.toml_text, version.filename))


def text_diff(old: str, new: str, old_name: str, new_name: str) -> list[str]:
    """A unified diff of two TOML texts, line by line."""
    return list(difflib.unified_diff(old.splitlines(), new.splitlines(), old_name, new_name, lineterm=""))


def summary(changes: list[Change], limit: int = 40) -> list[dict[str, Any]]:
    """Changes as audit details: rule figures only, never identity data; long lists are cut."""
    return [{"path": c.path, "old": _short(c.old), "new": _short(c.new)} for c in changes[:limit]]


def _short(value: Any) -> Any:
    """A figure as ``value — source`` (both matter), anything else as text, cut to 200 characters."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, Mapping) and {"value", "source"} <= value.keys():
        value = f"{value['value']} — {value['source']}"
    return str(value)[:200]
