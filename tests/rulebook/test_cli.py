"""``miniservice policies check|load|export`` against a real database."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from miniservice.cli import main
from tests.rulebook.conftest import SHIPPED, shenzhen_wage, with_header


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> None:
    monkeypatch.setenv("MINISERVICE_ENV", "test")
    monkeypatch.setenv("MINISERVICE_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setenv("MINISERVICE_DATABASE_URL", database_url)


def test_check_lists_every_problem_as_file_field_reason_and_exits_non_zero(policies: Path) -> None:
    (policies / "440300.toml").write_text(shenzhen_wage((SHIPPED / "440300.toml").read_text(), "-1"))
    (policies / "510100.toml").write_text("code = 'x'\n")
    result = CliRunner().invoke(main, ["policies", "check", str(policies)])
    assert result.exit_code == 1
    lines = [line.split("\t") for line in result.output.splitlines() if "\t" in line]
    assert ["440300.toml", "wage.average_monthly.2024.value", "Input should be greater than or equal to 0"] in lines
    assert any(line[0] == "510100.toml" for line in lines)
    assert "problem(s)" in result.output


def test_check_passes_the_shipped_policies() -> None:
    result = CliRunner().invoke(main, ["policies", "check", str(SHIPPED)])
    assert result.exit_code == 0, result.output


def test_load_then_export_round_trips_a_file(cli_env: None, policies: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["policies", "load", str(policies)])
    assert first.exit_code == 0, first.output
    assert runner.invoke(main, ["policies", "load", str(policies)]).output.startswith("0 stored")
    out = tmp_path / "out.toml"
    exported = runner.invoke(main, ["policies", "export", "440300", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert out.read_text(encoding="utf-8") == (SHIPPED / "440300.toml").read_text(encoding="utf-8")


def test_load_reports_a_bad_file_and_exits_non_zero(cli_env: None, policies: Path) -> None:
    bad = with_header((SHIPPED / "440300.toml").read_text(), parent="449900")
    (policies / "440300.toml").write_text(bad, encoding="utf-8")
    result = CliRunner().invoke(main, ["policies", "load", str(policies)])
    assert result.exit_code == 1
    assert "440300.toml\tparent\t" in result.output


def test_export_of_a_region_without_that_version_is_a_clear_error(cli_env: None, policies: Path) -> None:
    CliRunner().invoke(main, ["policies", "load", str(policies)])
    result = CliRunner().invoke(main, ["policies", "export", "440300", "--version", "1999.1"])
    assert result.exit_code == 1
    assert "440300 has no version 1999.1" in result.output
