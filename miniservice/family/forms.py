"""The family pages' forms (Flask-WTF, so every POST carries a CSRF token tied to the session).

Fields only check shape here; what the values mean (is this person insured, is this relationship
allowed in the holder's region) is decided by the services, which give the citizen's message.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, RadioField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from miniservice.family.policy import RELATION_LABELS
from miniservice.hardening import ROW_ID_MAX


class AddRelativeForm(FlaskForm):
    name = StringField("亲属姓名", validators=[DataRequired("请填写亲属姓名。"),
                                           Length(max=30, message="姓名最多 30 个字。")])
    id_number = StringField("身份证号码", validators=[DataRequired("请填写身份证号码。"),
                                                 Length(max=18, message="身份证号码为 18 位。")])
    relationship = RadioField(
        "与您的关系",
        choices=[SelectChoice(relation.value, label) for relation, label in RELATION_LABELS.items()],
        validators=[InputRequired("请选择与该亲属的关系。")],
        validate_choice=False,  # the service checks the relationship, with a message naming what is allowed
    )
    card_number = StringField("医保卡号", validators=[DataRequired("请填写亲属的医保卡号。"),
                                                           Length(max=40, message="医保卡号最多 40 位。")])
    attested = BooleanField("本人承诺已取得亲属同意（未成年子女或不使用微信的亲属适用）")
    submit = SubmitField("提交绑定")


class ConsentForm(FlaskForm):
    accept = SubmitField("同意")
    decline = SubmitField("拒绝")


class LinkActionForm(FlaskForm):
    """Revocation and the reminder switch: nothing to type, the CSRF token is the point."""

    enabled = HiddenField()
    confirmed = HiddenField()  # "yes" once the citizen has read the confirmation step


class PayForm(FlaskForm):
    link_id = IntegerField(validators=[InputRequired(), NumberRange(1, ROW_ID_MAX)])
    item = HiddenField(validators=[DataRequired(), Length(max=40)])
    amount = HiddenField(validators=[DataRequired(), Length(max=20)])
    request_key = HiddenField(validators=[DataRequired(), Length(max=64)])
    confirmed = HiddenField()  # "yes" once the citizen has read the amount and the consequence
