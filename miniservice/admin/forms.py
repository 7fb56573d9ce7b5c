"""Flask-WTF forms of the admin pages; each carries its CSRF token (the rule editor's fields are
generated from the schema in :mod:`miniservice.admin.rule_form`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import TextInput

from miniservice.admin.audit_words import ACTIONS

# Dates staff may search by: a day outside these cannot be turned into a UTC instant at both ends.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


# Days are typed as 2026-12-25 in a plain text box: a date input is drawn in the browser's own
# language and order (mm/dd/yyyy in many), which staff misread; the server checks the text.
DAY_FORMAT_MESSAGE = "请按 2026-12-25 这样的格式填写日期"
DAY_PLACEHOLDER = "如 2026-12-25"


def _day_field(label: str, validators: list[Any]) -> DateField:
    return DateField(label, validators=validators, widget=TextInput(), invalid_value_message=DAY_FORMAT_MESSAGE,
                     render_kw={"placeholder": DAY_PLACEHOLDER, "autocomplete": "off"})


def _plausible_day(_form: FlaskForm, field: DateField) -> None:
    if field.data and not FIRST_DAY <= field.data <= LAST_DAY:
        raise ValidationError(f"日期应在 {FIRST_DAY} 至 {LAST_DAY} 之间")


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=200)])


class NewDraftForm(FlaskForm):
    version = StringField("新版本号（留空自动生成）", validators=[Optional(), Length(max=40)])


class PublishForm(FlaskForm):
    effective_from = _day_field("生效日期", [DataRequired(message="请填写生效日期")])


class RollbackForm(FlaskForm):
    expected_version_id = HiddenField(validators=[DataRequired()])


class ConfirmForm(FlaskForm):
    """A button that changes something and needs nothing but the token."""


class ImportForm(FlaskForm):
    file = FileField("规则文件")
    text = TextAreaField("或粘贴规则文件的文本", validators=[Optional(), Length(max=200_000)])


class UploadForm(FlaskForm):
    file = FileField("CSV 文件", validators=[FileRequired(message="请选择要上传的 CSV 文件")])


GROUPS = {"rules.": "规则（全部）", "binding.": "身份绑定（全部）", "family.": "家庭共济（全部）",
          "records.": "参保记录（全部）", "reminders.": "断缴提醒（全部）", "staff.": "工作人员账户（全部）"}


def action_choices() -> list[SelectChoice]:
    """全部, then each group, then each action under its group (values are the stored codes)."""
    choices = [SelectChoice("", "全部操作")]
    for prefix, label in GROUPS.items():
        choices.append(SelectChoice(prefix, label))
        choices += [SelectChoice(code, "　" + name) for code, name in ACTIONS.items() if code.startswith(prefix)]
    return choices


class AuditSearchForm(FlaskForm):
    """A GET search: nothing changes, so no token."""

    class Meta:
        csrf = False

    actor = StringField("操作人", validators=[Optional(), Length(max=128)])
    action = SelectField("操作", choices=action_choices(), validators=[Optional()], validate_choice=True)
    subject = StringField("对象", validators=[Optional(), Length(max=200)])
    date_from = _day_field("起始日期", [Optional(), _plausible_day])
    date_to = _day_field("截止日期", [Optional(), _plausible_day])
