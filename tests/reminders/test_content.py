"""Template fields: WeChat's 20-character single-line limit, and the parsing of message templates."""

from __future__ import annotations

from miniservice.reminders.content import fields_from, fit


def test_a_field_is_one_line_of_at_most_twenty_characters() -> None:
    assert fit("截止日前补缴\n可免待遇等待期") == "截止日前补缴 可免待遇等待期"
    long = fit("这是一段明显超过二十个字符限制的提示文字需要被截短")
    assert len(long) == 20 and long.endswith("…")


def test_rendered_lines_become_wechat_template_data() -> None:
    data = fields_from("thing1=张*\n\namount4=3,200.00元\nnot a field\n")
    assert data == {"thing1": {"value": "张*"}, "amount4": {"value": "3,200.00元"}}
