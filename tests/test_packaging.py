"""The wheel carries every subpackage and the top-level templates/ and policies/ (pyproject lists them).

templates/' folders are listed as packages too: setuptools otherwise warns that it ships them as
namespace packages nobody declared (``.ci/run`` fails the build on that warning)."""

from __future__ import annotations

import tomllib

from setuptools import find_namespace_packages

from miniservice.config import PROJECT_ROOT, shipped


def test_pyproject_lists_every_subpackage_and_the_two_data_directories() -> None:
    listed = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    found = [name for name in find_namespace_packages(str(PROJECT_ROOT), include=["miniservice*"])
             if "__pycache__" not in name]
    template_folders = [f"miniservice.templates.{folder.name}" for folder in (PROJECT_ROOT / "templates").iterdir()
                        if folder.is_dir() and folder.name != "__pycache__"]
    assert sorted(listed) == sorted([*found, "miniservice.templates", "miniservice.policies", *template_folders])


def test_a_source_checkout_reads_templates_and_policies_from_the_top_of_the_tree() -> None:
    assert shipped("templates") == PROJECT_ROOT / "templates"
    assert shipped("policies") == PROJECT_ROOT / "policies"
