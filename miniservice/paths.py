"""Where the files shipped with the service are: a leaf module (pathlib only), so that the pure
rules can find the rule files without importing the settings, and the settings can share the answer."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent


def shipped(name: str) -> Path:
    """``templates/`` or ``policies/``: at the top of a source checkout (the product card's layout),
    inside the package when installed from a wheel (pyproject.toml maps them there)."""
    bundled = PACKAGE_DIR / name
    return bundled if bundled.is_dir() else PROJECT_ROOT / name


TEMPLATES_DIR = shipped("templates")
POLICIES_DIR = shipped("policies")
