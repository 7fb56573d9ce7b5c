"""Rule files: the shipped ones pass the checker; broken ones say file + field + reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from miniservice.rules.gaps import CollectionPeriod, GapPolicy
from miniservice.rules.kinds import Scheme
from miniservice.rules.loading import (
    NATIONAL,
    Problem,
    RuleFileError,
    check_directory,
    dump_toml,
    load_region_file,
    parse_region,
    resolve_region,
    rulebook_from_texts,
    sourced_nodes,
)
from tests.rules.helpers import NATIONAL_TEXT, POLICIES, region_text

REQUIRED_REGIONS = ["110000", "310000", "320100", "330200", "350200", "350000", "510100", "440300", "440400",
                    "140100", "420500", "360100", "360000", "320000", "330000", "440000", "510000", "140000",
                    "420000", NATIONAL]

def problems_for(**files: str) -> list[Problem]:
    texts = {"national.toml": NATIONAL_TEXT}
    texts.update({f"{name.removeprefix('f')}.toml": text for name, text in files.items()})
    return rulebook_from_texts(texts).check()


# --- the shipped files -------------------------------------------------------------------------

def test_every_shipped_policy_file_passes_the_checker():
    assert check_directory(POLICIES) == []


def test_all_required_regions_are_shipped(book):
    assert set(REQUIRED_REGIONS) <= set(book.codes())


@pytest.mark.parametrize("code", REQUIRED_REGIONS)
def test_every_resolved_figure_has_a_source_and_an_origin(book, code):
    rules = book.resolve(code)
    figures = list(sourced_nodes(rules))
    assert len(figures) > 60
    for path, figure in figures:
        assert figure.source, path
        assert figure.origin is not None and figure.origin.code in rules.chain, path
        assert figure.source in rules.sources, path


@pytest.mark.parametrize("path", sorted(set(POLICIES.glob("*.toml")) - {POLICIES / "sources.toml"}),
                         ids=lambda p: p.name)
def test_dump_then_parse_round_trips_each_shipped_file(path):
    region = load_region_file(path)
    assert parse_region(dump_toml(region), path.name) == region


def test_file_name_must_match_code():
    with pytest.raises(RuleFileError) as err:
        parse_region(region_text("110000"), "310000.toml")
    assert err.value.problems == [Problem("310000.toml", "code", "code '110000' does not match the file name")]


# --- inheritance -------------------------------------------------------------------------------

def test_city_inherits_province_field_by_field(book):
    xiamen = book.resolve("350200")
    assert xiamen.chain == ("350200", "350000", NATIONAL)
    assert xiamen.flexible.short_continuity.below_months.origin.file == "350000.toml"
    assert xiamen.wage.average_monthly[2024].origin.file == "350200.toml"
    assert xiamen.flexible.unit_rate.origin.file == "national.toml"


def test_city_overrides_one_field_of_a_section_and_keeps_the_rest(book):
    nanjing = book.resolve("320100")
    assert nanjing.flexible.backpay.self_window_months.value == 3
    assert nanjing.flexible.backpay.self_window_months.origin.file == "320100.toml"
    assert nanjing.flexible.backpay.self_online.origin.file == "national.toml"


def test_year_tables_are_inherited_whole_not_mixed(book):
    assert set(book.resolve("440300").wage.average_monthly) == {2024}
    assert set(book.resolve("360100").resident.premium) == {2025}
    assert book.resolve("360100").resident.premium[2025].value == 400


def test_waiting_bands_by_cause_inherit_separately(book):
    beijing = book.resolve("110000")
    assert beijing.employee.waiting.self_bands[1].origin.file == "110000.toml"
    assert beijing.employee.waiting.unit_bands[0].origin.file == "national.toml"


def test_unknown_district_falls_back_to_city_then_province_then_national(book):
    assert book.region_for("440304").code == "440300"
    assert book.region_for("445100").code == "440000"
    assert book.region_for("650100").code == NATIONAL


def test_resolve_region_reads_a_directory():
    assert resolve_region(POLICIES, "420500").name == "宜昌市"


# --- broken files: file + field + reason --------------------------------------------------------

def test_rate_out_of_range_names_file_field_and_reason():
    body = '[employee]\nunit_rate = { value = "1.5", source = "art-taiyuan" }\n'
    assert problems_for(f110000=region_text("110000", body)) == [
        Problem("110000.toml", "employee.unit_rate.value", "Input should be less than or equal to 1")]


def test_figure_without_a_source_is_reported():
    body = '[employee]\nunit_rate = { value = "0.08" }\n'
    assert problems_for(f110000=region_text("110000", body)) == [
        Problem("110000.toml", "employee.unit_rate.source", "figure has no source")]


def test_blank_source_is_reported():
    body = '[employee]\nunit_rate = { value = "0.08", source = " " }\n'
    found = problems_for(f110000=region_text("110000", body))
    assert [(p.field, p.reason.split(":")[0]) for p in found] == [
        ("employee.unit_rate.source", "every figure needs a source")]


def test_toml_syntax_error_is_reported_for_the_file():
    found = problems_for(f110000=region_text("110000", "[employee\n"))
    assert len(found) == 1 and found[0].file == "110000.toml" and "TOML syntax error" in found[0].reason


def test_unknown_parent_is_reported():
    assert problems_for(f110000=region_text("110000", parent="990000")) == [
        Problem("110000.toml", "parent", "unknown parent '990000': no 990000.toml")]


def test_parent_cycle_is_reported():
    found = problems_for(f320100=region_text("320100", parent="320000"),
                         f320000=region_text("320000", parent="320100"))
    assert {p.field for p in found} == {"parent"}
    assert any("cycle" in p.reason for p in found)


def test_bad_date_is_reported():
    text = region_text("110000").replace("2025-01-01", '"2025-02-30"')
    found = problems_for(f110000=text)
    assert [p.field for p in found] == ["effective_from"]


def test_bad_collection_period_is_reported():
    body = '[resident]\nperiod_end = { value = "02-30", source = "art-jiangxi-period" }\n'
    found = problems_for(f360000=region_text("360000", body))
    assert [p.field for p in found] == ["resident.period_end.value"]


def test_the_checker_asks_which_year_a_files_own_period_dates_were_given_for(tmp_path: Path):
    """Dates without ``period_years`` beside them would inherit the parent's year: `policies check` refuses."""
    (tmp_path / "national.toml").write_text(NATIONAL_TEXT, encoding="utf-8")
    body = ('[resident]\nperiod_end = { value = "12-31", source = "art-2024-period", '
            'quote = "部分地区如广西的集中缴费期为2024年9月1日至12月31日" }\n')
    (tmp_path / "450000.toml").write_text(region_text("450000", body), encoding="utf-8")

    found = check_directory(tmp_path)

    assert [(p.file, p.field) for p in found] == [("450000.toml", "resident.period_years")]
    assert problems_for(f450000=region_text("450000", body)) == []  # stored versions and drafts still load


def test_unknown_field_is_reported():
    body = '[employee]\nunit_rat = { value = "0.08", source = "art-taiyuan" }\n'
    found = problems_for(f110000=region_text("110000", body))
    assert [(p.field, p.reason) for p in found] == [("employee.unit_rat", "Extra inputs are not permitted")]


def test_origin_written_in_a_file_is_refused():
    body = ('[employee]\nunit_rate = { value = "0.08", source = "art-taiyuan", origin = { file = "a", '
            'code = "110000", version = "1", effective_from = 2025-01-01 } }\n')
    found = problems_for(f110000=region_text("110000", body))
    assert Problem("110000.toml", "employee.unit_rate.origin", "origin is set by the loader; remove it") in found


def test_bands_must_start_at_zero_and_increase():
    body = ('[flexible.waiting]\nself_bands = [\n { over = 3, wait = "next_month", source = "art-can-stop" },\n'
            ' { over = 1, wait = "next_month", source = "art-can-stop" },\n]\n')
    found = problems_for(f110000=region_text("110000", body))
    assert [p.field for p in found] == ["flexible.waiting.self_bands"]


def test_cross_field_error_appears_when_resolving():
    body = '[employee]\nbase_floor_ratio = { value = "4", source = "art-personal-backpay" }\n'
    found = problems_for(f110000=region_text("110000", body))
    assert found == [Problem("110000.toml", "employee", "base_floor_ratio is above base_ceiling_ratio")]


def test_national_must_define_everything():
    texts = {"national.toml": 'code = "national"\nname = "x"\nversion = "1"\neffective_from = 2025-01-01\n'}
    found = rulebook_from_texts(texts).check()
    assert Problem("national.toml", "wage", "missing after inheritance (national)") in found


def test_missing_national_is_reported(tmp_path: Path):
    (tmp_path / "110000.toml").write_text(region_text("110000"), encoding="utf-8")
    found = check_directory(tmp_path)
    assert Problem("national.toml", "", "national.toml is missing") in found
    assert Problem("110000.toml", "parent", "unknown parent 'national': no national.toml") in found


def test_child_of_a_broken_parent_points_at_the_parent():
    found = problems_for(f320000=region_text("320000", "[employee\n"),
                         f320100=region_text("320100", parent="320000"))
    assert Problem("320100.toml", "parent", "parent '320000' has problems of its own") in found


def test_duplicate_code_is_reported():
    book = rulebook_from_texts({"national.toml": NATIONAL_TEXT})
    book.add("110000.toml", region_text("110000"))
    book.add("110000.toml", region_text("110000"))
    assert book.problems == [Problem("110000.toml", "code", "110000 is also defined in 110000.toml")]


def test_dump_writes_figures_inline_and_decimals_as_strings(book):
    text = dump_toml(book.files["440300"])
    assert '2024 = { source = "art-taiyuan", quote = "深圳张女士' in text and 'value = "8000"' in text
    assert "effective_from = 2025-01-01" in text


def test_gap_policy_comes_from_the_resolved_rules(book):
    assert book.resolve("360100").gap_policy(Scheme.RESIDENT).resident_period == CollectionPeriod(9, 15, 2, 28)
    assert book.resolve(NATIONAL).gap_policy(Scheme.FLEXIBLE) == GapPolicy(None, 6, 3, None)


def test_family_and_reminder_rules_are_available_to_other_features(book):
    taiyuan = book.resolve("140100")
    assert "spouse" in taiyuan.family.relationships.value and taiyuan.family.max_links.illustrative
    assert taiyuan.family.channels.origin.file == "140100.toml"
    assert taiyuan.reminders.gap_months.value == (1, 2) and taiyuan.reminders.days_before_line.value == 15
    assert taiyuan.reminders.resident_days_before_period_end.value == (30, 7)
