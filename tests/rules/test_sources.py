"""The source registry and the citations the loader demands of every figure."""

from __future__ import annotations

import os
import re
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from miniservice.rules.labels import figure_label, figure_paths, figure_value_text
from miniservice.rules.loading import Problem, check_directory, load_rulebook, rulebook_from_texts
from miniservice.rules.sources import SourceKind, SourceRegistryError, default_registry, parse_sources
from tests.rules.helpers import NATIONAL_TEXT, POLICIES, region_text

SEEDS = Path(os.environ.get("MINISERVICE_SEEDS_DIR", "/work/shared/seeds"))
SEED_OF = {"art-how-to-backpay": "000", "art-how-many-years": "000", "art-taiyuan": "001",
           "art-unit-arrears": "002", "art-jiangxi-period": "002", "art-2024-period": "002",
           "art-nanchang-period": "002", "art-nanchang-years": "002", "art-nanchang-rates": "002",
           "art-personal-backpay": "003", "yichang-flexible": "003", "ningbo-backpay": "003",
           "zhuhai-retiree": "003", "art-can-stop": "004"}
LATIN = re.compile(r"[A-Za-z]+")


def problems_for(body: str, **texts: str) -> list[Problem]:
    return rulebook_from_texts({"national.toml": NATIONAL_TEXT, "110000.toml": region_text("110000", body),
                                **texts}).check()


# --- the loader refuses what cannot be cited ----------------------------------------------------

def test_an_unknown_source_id_is_refused_at_its_figure():
    body = '[employee]\nunit_rate = { value = "0.08", source = "seed 001: 缴费比例", illustrative = true }\n'
    reason = "unknown source 'seed 001: 缴费比例': not in the source registry (sources.toml)"
    assert problems_for(body) == [Problem("110000.toml", "employee.unit_rate.source", reason)]


def test_an_unknown_id_among_further_or_differing_sources_is_refused():
    body = ('[employee]\nunit_rate = { value = "0.08", source = "art-taiyuan", quote = "合计10%-12%", '
            'also = [{ source = "nowhere", quote = "x" }], '
            'differs = [{ source = "elsewhere", quote = "y", says = "百分之十二" }] }\n')
    assert [(p.field, p.reason.split(":")[0]) for p in problems_for(body)] == [
        ("employee.unit_rate.also[0].source", "unknown source 'nowhere'"),
        ("employee.unit_rate.differs[0].source", "unknown source 'elsewhere'")]


def test_a_figure_without_a_source_is_refused():
    body = '[employee]\nunit_rate = { value = "0.08", quote = "合计10%-12%" }\n'
    assert problems_for(body) == [Problem("110000.toml", "employee.unit_rate.source", "figure has no source")]


def test_a_figure_resting_on_this_services_estimate_must_be_illustrative():
    body = '[wage.average_monthly]\n2024 = { value = "9000", source = "estimate" }\n'
    assert problems_for(body) == [Problem("110000.toml", "wage.average_monthly.2024.illustrative",
                                          "'estimate' is this service's estimate: set illustrative = true")]


def test_what_citizens_read_beside_a_figure_must_be_chinese():
    body = ('[employee]\nunit_rate = { value = "0.08", source = "art-taiyuan", quote = "合计10%-12%", '
            'note = "the low end", differs = [{ source = "art-can-stop", quote = "x", says = "12 percent" }] }\n')
    assert {p.field for p in problems_for(body)} == {"employee.unit_rate.note",
                                                     "employee.unit_rate.differs[0].says"}


def test_shipped_files_must_quote_documents_and_explain_illustrative_figures(tmp_path: Path):
    (tmp_path / "national.toml").write_text(NATIONAL_TEXT, encoding="utf-8")
    (tmp_path / "110000.toml").write_text(region_text("110000", (
        '[employee]\nunit_rate = { value = "0.08", source = "art-taiyuan" }\n'
        '[wage.average_monthly]\n2024 = { value = "9000", source = "estimate", illustrative = true }\n')),
        encoding="utf-8")
    found = {(p.field, p.reason) for p in check_directory(tmp_path)}
    assert found == {("employee.unit_rate.quote", "quote the sentence of the source this figure rests on"),
                     ("wage.average_monthly.2024.note", "an illustrative figure needs a note (in Chinese) saying why")}
    assert rulebook_from_texts({"national.toml": NATIONAL_TEXT}).check() == []  # drafts need not quote


def test_a_directory_brings_its_own_registry(tmp_path: Path):
    (tmp_path / "national.toml").write_text(NATIONAL_TEXT, encoding="utf-8")
    (tmp_path / "sources.toml").write_text('[[source]]\nid = "only-one"\ntitle = "唯一来源"\nissuer = "某局"\n'
                                           'kind = "local"\n', encoding="utf-8")
    problems = load_rulebook(tmp_path).check()
    assert problems and all("not in the source registry" in p.reason for p in problems)


def test_a_broken_registry_is_reported_as_the_registry_file():
    found = rulebook_from_texts({"sources.toml": '[[source]]\nid = "Bad Id"\ntitle = "x"\nissuer = "y"\n'
                                                 'kind = "blog"\n', "national.toml": NATIONAL_TEXT}).problems
    assert {p.file for p in found} == {"sources.toml"} and len(found) == 2


def test_the_registry_refuses_duplicates_and_dates_out_of_order():
    entry = '[[source]]\nid = "a"\ntitle = "甲"\nissuer = "乙"\nkind = "law"\n'
    with pytest.raises(SourceRegistryError, match="listed twice"):
        parse_sources(entry + entry)
    with pytest.raises(SourceRegistryError, match="effective date is before"):
        parse_sources(entry + "published = 2021-11-01\neffective = 2021-01-01\n")


# --- the shipped registry and rule files --------------------------------------------------------

def test_the_law_and_national_documents_are_cited_by_name_and_number():
    registry = default_registry()
    assert registry["law-social-insurance"].citation().startswith(
        "《中华人民共和国社会保险法》（全国人民代表大会常务委员会，中华人民共和国主席令第三十五号")
    assert registry["nhsa-transfer-2021"].number == "医保办发〔2021〕43号"
    assert registry["gov-enrolment-2024"].number == "国办发〔2024〕38号"
    articles = {doc.id: doc for doc in registry.values() if doc.kind is SourceKind.ARTICLE}
    assert articles["art-taiyuan"].citation() == (
        "《医疗保险中间断交可以补交吗?山西太原职工医保断交怎么补缴?》（社保网，2025-05-18 发布）")
    assert articles["art-personal-backpay"].citation() == (
        "《在哪办理个人医疗保险补缴》（法律编辑整理，2023-05-29 发布）")
    for doc in registry.values():  # what a citizen reads of a source is Chinese
        assert not [w for w in LATIN.findall(doc.citation() + (doc.note or "")) if w not in {"APP"}], doc.id


def test_every_shipped_figure_cites_a_registered_source_and_quotes_documents():
    assert check_directory(POLICIES) == []  # require_quotes: every document figure has its sentence


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the source articles are not on this machine")
def test_every_quote_from_an_article_is_found_in_that_article():
    texts = {path.name[:3]: re.sub(r"\s+", "", path.read_text(encoding="utf-8")) for path in SEEDS.glob("*.txt")}
    checked = 0
    for path in sorted(POLICIES.glob("*.toml")):
        if path.name == "sources.toml":
            continue
        for figure in _cited(tomllib.loads(path.read_text(encoding="utf-8"))):
            if figure["source"] in SEED_OF and figure.get("quote"):
                for fragment in figure["quote"].split("…"):
                    assert re.sub(r"\s+", "", fragment) in texts[SEED_OF[figure["source"]]], (path.name, fragment)
                    checked += 1
    assert checked > 100


def _cited(node):
    if isinstance(node, dict):
        if "source" in node:
            yield node
            yield from (*node.get("also", ()), *node.get("differs", ()))
            return
        for value in node.values():
            yield from _cited(value)
    elif isinstance(node, list):
        for value in node:
            yield from _cited(value)


def test_every_figure_has_a_chinese_label_and_a_chinese_value():
    book = load_rulebook(POLICIES)
    for code in book.codes():
        rules = book.resolve(code)
        for path in figure_paths(rules):
            label = figure_label(path)
            assert label and not LATIN.findall(label), path
        for path, value in [("flexible.backpay.self_online", True),
                            ("employee.unit_rate", rules.employee.unit_rate.value),
                            ("family.relationships", rules.family.relationships.value),
                            ("employee.late_fee.causes", rules.employee.late_fee.causes.value),
                            ("flexible.waiting.measure", "days")]:
            assert not LATIN.findall(figure_value_text(path, value)), path
    assert figure_label("flexible.backpay.self_online") == "灵活就业人员可线上补缴"
    assert figure_value_text("flexible.backpay.self_online", True) == "是"
    assert figure_value_text("flexible.late_fee.daily_rate", Decimal("0.0005")) == "0.05%"
    assert figure_value_text("resident.period_end", "02-28") == "2 月 28 日"
    assert figure_value_text("employee.backpay.self_window_months", 0) == "不限"
    assert figure_value_text("reminders.resident_days_before_period_end", (30, 7)) == "30 天、7 天"
    assert figure_value_text("wage.average_monthly.2024", Decimal("8000")) == "8,000.00 元"


def test_an_unknown_figure_path_has_no_label():
    with pytest.raises(KeyError):
        figure_label("employee.no_such_thing")


# --- the re-derived bands and the recorded conflicts --------------------------------------------

def test_shenzhen_keeps_the_national_rule_up_to_three_months_and_marks_its_example():
    rules = load_rulebook(POLICIES).resolve("440300")
    for section in (rules.employee, rules.flexible):
        bands = section.waiting.self_bands
        assert [b.over for b in bands] == [0, 3, 4, 6]
        assert bands[0].gap_bills_reimbursable and not bands[0].illustrative  # 1–3 months: reimbursable
        assert bands[1].illustrative and "张女士断缴4个月" in bands[1].quote  # the one worked example


def test_chengdu_four_month_gap_is_an_illustrative_extrapolation():
    rules = load_rulebook(POLICIES).resolve("510100")
    bands = rules.flexible.waiting.self_bands
    # over 4: 成都's own wait; over 6: its reset is another source's general statement (示例数据)
    assert [(b.over, b.illustrative) for b in bands] == [(0, False), (3, True), (4, False), (6, True)]
    assert "中断时间超过4个月" in bands[2].quote and bands[2].months == 6


@pytest.mark.parametrize("code", ["510100", "420500"])
def test_an_unlimited_back_pay_window_no_source_states_is_illustrative(code: str):
    """Audit finding 7: 成都's article (and 宜昌's rule) allow back-payment of long gaps but never say
    how far back; "不限" is this service's reading and must be shown as 示例数据."""
    window = load_rulebook(POLICIES).resolve(code).flexible.backpay.self_window_months
    assert window.value == 0 and window.illustrative and "没有说最多" in window.note


def test_every_window_of_no_limit_in_any_region_is_illustrative():
    """The same kind of inference anywhere: a window of 0 (不限) is never a stated figure."""
    book = load_rulebook(POLICIES)
    for code in book.codes():
        rules = book.resolve(code)
        for section in (rules.employee, rules.flexible):
            window = section.backpay.self_window_months
            assert window.value != 0 or window.illustrative, code


@pytest.mark.parametrize("code", ["110000", "510100"])
def test_a_region_replacing_the_bands_keeps_the_reset_after_six_months(code: str):
    """北京 and 成都 state only the first bands; past 6 months the national reset still applies
    (audit finding 25), with a note that the region's own source does not say."""
    rules = load_rulebook(POLICIES).resolve(code)
    for section in (rules.employee, rules.flexible):
        last = section.waiting.self_bands[-1]
        assert (last.over, last.continuity.value) == (6, "reset") and last.note, code


def test_every_band_promising_reimbursement_of_the_gap_cites_a_sentence_saying_so():
    """A band with gap_bills_reimbursable must quote a sentence about 报销 or 追溯 (not only 次月恢复)."""
    book = load_rulebook(POLICIES)
    for code in book.codes():
        rules = book.resolve(code)
        for section in (rules.employee, rules.flexible):
            for band in (*section.waiting.self_bands, *section.waiting.unit_bands):
                if band.gap_bills_reimbursable:
                    quotes = [band.quote or "", *(c.quote or "" for c in band.also)]
                    assert any("追溯" in q or "报销" in q for q in quotes), (code, band.label)


def test_the_national_unit_band_keeps_next_month_as_a_differing_source_not_as_support():
    """Audit finding 15: 《医疗保险中间断交…》 says 补缴后次月恢复, 《医保缴费能不能断》 says 到账次日: a conflict."""
    band = load_rulebook(POLICIES).resolve("national").employee.waiting.unit_bands[0]
    assert band.wait.value == "day_after_arrival" and "到账次日" in band.quote
    assert not [c for c in band.also if "次月" in (c.quote or "")]
    assert [d for d in band.differs if "次月" in d.quote and "次月" in d.says]


def test_the_national_self_window_is_marked_as_an_inference_not_a_waiting_period_quote():
    window = load_rulebook(POLICIES).resolve("national").flexible.backpay.self_window_months
    assert window.illustrative and "等待期不超过6个月" not in window.quote and window.note


@pytest.mark.parametrize(("code", "path", "says"), [
    ("360100", "resident.premium.2025", "南昌每人每年380元"),
    ("national", "retiree.required_years_female", "男性25年、女性20年，实际缴费不少于15年"),
    ("140100", "flexible.waiting.self_bands[1]", "断缴4个月的例子需等待6个月才恢复待遇"),
    ("national", "employee.backpay.unit_window_months", "单位欠缴超过3个月通常无法补缴，部分地区允许"),
    ("440000", "employee.waiting.unit_bands[0]", "单位补缴后次月起恢复待遇（不是到账次日）"),
])
def test_sources_that_disagree_are_kept_beside_the_chosen_figure(code: str, path: str, says: str):
    from miniservice.rules.citing import Citer

    citer = Citer(load_rulebook(POLICIES).resolve(code))
    citer.sourced(path)
    assert says in [d.says for d in citer.used[path].differs]


def test_the_hotline_is_the_medical_insurance_one_and_no_pension_handbook_is_asked_for():
    book = load_rulebook(POLICIES)
    for code in book.codes():
        guidance = book.resolve(code).guidance
        assert guidance.hotline.value == "12393", code
        materials = (*guidance.materials_self.value, *guidance.materials_unit.value, *guidance.materials_retiree.value)
        assert not [m for m in materials if "养老保险手册" in m], code


def test_a_wait_of_at_most_six_months_quoted_as_six_is_illustrative():
    """《医保缴费能不能断》 says “待遇享受等待期不超过6个月”: a band that waits exactly 6 months on that
    sentence alone uses the upper bound, an estimate, and must say so (北京/成都 state 6 months themselves)."""
    book = load_rulebook(POLICIES)
    for code in book.codes():
        rules = book.resolve(code)
        for section in (rules.employee, rules.flexible):
            for band in section.waiting.self_bands:
                stated = [band.quote or "", *(c.quote or "" for c in band.also)]
                if band.months == 6 and not any("满6个月" in q for q in stated):
                    assert band.illustrative and "最长6个月" in band.note, (code, band.label)
