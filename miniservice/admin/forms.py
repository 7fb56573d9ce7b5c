"""Flask-WTF forms of the admin pages; each carries its CSRF token (the rule editor's fields are
generated from the schema in :mod:`miniservice.admin.rule_form`)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=200)])


class NewDraftForm(FlaskForm):
    version = StringField("新版本号（留空自动生成）", validators=[Optional(), Length(max=40)])


class PublishForm(FlaskForm):
    effective_from = DateField("生效日期", validators=[DataRequired(message="请填写生效日期")])


class RollbackForm(FlaskForm):
    expected_version_id = HiddenField(validators=[DataRequired()])


class ConfirmForm(FlaskForm):
    """A button that changes something and needs nothing but the token."""


class ImportForm(FlaskForm):
    file = FileField("TOML 文件")
    text = TextAreaField("或粘贴 TOML 文本", validators=[Optional(), Length(max=200_000)])


class UploadForm(FlaskForm):
    file = FileField("CSV 文件", validators=[FileRequired(message="请选择要上传的 CSV 文件")])


class AuditSearchForm(FlaskForm):
    """A GET search: nothing changes, so no token."""

    class Meta:
        csrf = False

    actor = StringField("操作人", validators=[Optional(), Length(max=128)])
    action = StringField("操作", validators=[Optional(), Length(max=64)])
    subject = StringField("对象", validators=[Optional(), Length(max=200)])
    date_from = DateField("起始日期", validators=[Optional()])
    date_to = DateField("截止日期", validators=[Optional()])
