"""Fixtures for the rule book: a private copy of the shipped policies, loaded or not, and text edits."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from miniservice.config import PROJECT_ROOT
from miniservice.db import Database
from miniservice.rulebook.service import load_directory

SHIPPED = PROJECT_ROOT / "policies"


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    directory = tmp_path / "policies"
    shutil.copytree(SHIPPED, directory)
    return directory


@pytest.fixture
def loaded(db: Database, policies: Path) -> Path:
    report = load_directory(db, policies, "test")
    assert report.ok, report.problems
    return policies


def with_header(text: str, **values: str) -> str:
    """``text`` with top-level header keys replaced (``version="2026.1"``, ``effective_from="2026-01-01"``)."""
    for key, value in values.items():
        rendered = value if key == "effective_from" else f'"{value}"'
        text, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {rendered}", text, count=1)
        assert count == 1, key
    return text


def shenzhen_wage(text: str, wage: str) -> str:
    """440300's 2024 average wage set to ``wage``."""
    return text.replace('2024 = { value = "8000"', f'2024 = {{ value = "{wage}"', 1)
