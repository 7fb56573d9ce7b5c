"""Shared fixtures: the shipped policies directory, loaded once per session."""

from __future__ import annotations

import pytest

from miniservice.rules.loading import RuleBook, load_rulebook
from tests.rules.helpers import POLICIES


@pytest.fixture(scope="session")
def book() -> RuleBook:
    return load_rulebook(POLICIES)
