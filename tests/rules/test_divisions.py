"""The GB/T 2260 table: real codes of the covered provinces are known, a district names its city."""

from __future__ import annotations

import pytest

from miniservice.rules.divisions import CITIES, DISTRICTS, NAMES, PROVINCES, UnknownRegion, check_region, name_of


@pytest.mark.parametrize(("code", "name"), [
    ("110105", "北京市朝阳区"),
    ("140213", "山西省大同市平城区"),  # a city without a rule file of its own: 山西's rules apply
    ("320506", "江苏省苏州市吴中区"),
    ("441900", "广东省东莞市"),  # a prefecture-level city without districts
    ("513401", "四川省凉山彝族自治州西昌市"),
])
def test_a_real_code_of_a_covered_province_is_known_with_its_city_and_province(code: str, name: str) -> None:
    assert check_region(code) == code and name_of(code) == name


@pytest.mark.parametrize("code", ["999999", "110199", "120101", "140200x", "320576", "110100"])
def test_a_code_that_is_not_a_covered_division_is_refused(code: str) -> None:
    with pytest.raises(UnknownRegion):
        check_region(code)


def test_every_district_and_city_sits_under_a_listed_city_or_province() -> None:
    for code in DISTRICTS:
        assert code[:4] + "00" in CITIES or code[:2] + "0000" in PROVINCES, code
    for code in CITIES:
        assert code[:2] + "0000" in PROVINCES, code
    assert all(len(code) == 6 and code.isascii() and code.isdigit() for code in NAMES)
    assert len(NAMES) == len(PROVINCES) + len(CITIES) + len(DISTRICTS) == 1046
