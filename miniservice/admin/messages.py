"""Rule-file problems in Chinese, for staff pages: where (in words) and what is wrong (in words).

The schema (pydantic) and the loader describe problems in English for developers and the command
line; staff read them here. Each known sentence is matched by a pattern and rewritten; one nobody
foresaw becomes a plain Chinese "this value is not accepted" rather than leaking English onto the page.
"""

from __future__ import annotations

import re

from miniservice.admin.labels import path_label

_PATTERNS: tuple[tuple[str, str], ...] = (
    # pydantic's own messages (by the error type that produces them)
    (r"Input should be less than or equal to (?P<n>\S+)", "不能大于 {n}"),
    (r"Input should be less than (?P<n>\S+)", "必须小于 {n}"),
    (r"Input should be greater than or equal to (?P<n>\S+)", "不能小于 {n}"),
    (r"Input should be greater than (?P<n>\S+)", "必须大于 {n}"),
    (r"Input should be a valid integer.*", "请填写整数，如 6"),
    (r"Input should be a finite number|Input should be a valid (decimal|number).*|Decimal input should be.*",
     "请填写数字，如 0.08"),
    (r"Decimal input should have no more than.*", "小数位数太多"),
    (r"Input should be a valid boolean.*", "请选择“是”或“否”"),
    (r"Input should be (?:'[^']*', )*'[^']*'(?: or '[^']*')?", "请从列表中选择一项"),
    (r"Input should be a valid date.*|Datetimes provided to dates should have zero time.*",
     "请按 2026-01-01 这样的格式填写日期"),
    (r"Input should be a valid string", "请填写文字"),
    (r"Input should be a valid (tuple|list|dictionary).*|Input should be an object", "填写的格式不对"),
    (r"String should match pattern.*", "填写的格式不对"),
    (r"String should have at least \d+ characters?", "不能为空"),
    (r"(Tuple|List) should have at least (?P<n>\d+) items?.*", "至少要有 {n} 项"),
    (r"Field required|required", "必须填写"),
    (r"Extra inputs are not permitted", "规则中没有这一项，请删除"),
    (r"missing after inheritance.*", "本地区和上级地区都没有这一项，必须填写"),
    # the schema's own checks
    (r"figure has no source|every figure needs a source.*", "请选择来源（政策文件或文章），并填写原文句子"),
    (r"unknown source .*not in the source registry.*", "来源不在来源登记表中，请从列表中选择"),
    (r"source says illustrative.*", "来源写明是示例数据：请勾选“示例数据”"),
    (r"bands must start at over = 0.*", "第一档须从“断缴超过 0”开始，以下各档的“断缴超过”逐档增大"),
    (r"wait = '(?P<kind>\w+)' needs months >= 1", "这种恢复方式需要填写月数（至少 1）"),
    (r"base_floor_ratio is above base_ceiling_ratio", "缴费基数下限高于上限"),
    (r"national.toml has no parent", "全国默认规则没有上级"),
    (r"parent is required.*", "请填写上级地区"),
    (r"a region cannot be its own parent", "上级地区不能是本地区"),
    (r"invalid literal for int\(\).*|month must be in.*|day is out of range.*|not enough values.*",
     "请按 09-10 这样的格式填写月-日"),
    # the loader and the rule book
    (r"TOML syntax error.*", "文件格式有误，无法读取"),
    (r"origin is set by the loader.*", "此项由系统填写，请删除"),
    (r"code '(?P<code>[^']*)' does not match the file name", "地区代码 {code} 与文件名不一致"),
    (r"unknown parent '(?P<code>[^']*)'.*", "上级地区 {code} 没有规则"),
    (r"parent '(?P<code>[^']*)' has problems of its own", "上级地区 {code} 的规则本身有问题"),
    (r"parent cycle.*", "上级地区形成了循环"),
    (r"chain does not end at national", "上级地区最终没有指向全国默认规则"),
    (r"no published rules for region (?P<code>\S+) on (?P<day>\S+)", "{code} 在 {day} 没有已发布的规则"),
    (r"no published rules for (?P<code>\S+) \(parent of \S+\) on (?P<day>\S+)",
     "上级地区 {code} 在 {day} 没有已发布的规则"),
    (r"at most (?P<n>\d+) characters", "最多 {n} 个字"),
)
_COMPILED = tuple((re.compile(pattern), rewrite) for pattern, rewrite in _PATTERNS)
UNKNOWN = "填写的内容不符合要求，请检查"
_LATIN = re.compile(r"[A-Za-z]")


def reason_in_chinese(reason: str) -> str:
    """The Chinese sentence for one problem reason; never returns English."""
    text = reason.strip().removeprefix("Value error, ")
    for pattern, rewrite in _COMPILED:
        if match := pattern.fullmatch(text):
            return rewrite.format(**match.groupdict())
    return text if text and not _LATIN.search(text) else UNKNOWN


def where_in_chinese(field: str) -> str:
    return path_label(field) if field else "整个文件"
