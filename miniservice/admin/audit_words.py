"""Audit rows in Chinese: what was done, by whom, to what, with which details.

The trail stores stable codes (``binding.bind``, ``staff:alice``, ``person:12``) so it can be
searched and never reworded after the fact; this module is only how the page reads them. A test
collects every action code the package writes and fails on one without a name here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from miniservice.admin.labels import path_label, value_words
from miniservice.audit.models import AuditEvent

ACTIONS = {
    "binding.bind": "绑定身份", "binding.unbind": "解除绑定",
    "binding.attempt_failed": "绑定失败（信息不符）", "binding.attempt_refused": "绑定被拒（尝试次数过多）",
    "records.import": "导入参保记录", "records.import_rejected": "参保记录导入被拒",
    "records.demo_seed": "生成演示数据",
    "staff.create": "新建工作人员账户", "staff.password_reset": "重置密码", "staff.login": "登录",
    "staff.login_failed": "登录失败", "staff.login_refused": "登录被拒（账户已锁定）", "staff.locked": "账户锁定",
    "staff.logout": "退出登录",
    "reminders.on": "开启断缴提醒", "reminders.off": "关闭断缴提醒",
    "rules.load": "载入规则文件", "rules.draft.create": "新建规则草稿", "rules.draft.update": "修改规则草稿",
    "rules.draft.discard": "放弃规则草稿", "rules.publish": "发布规则", "rules.rollback": "回滚规则",
    "rules.import": "导入规则",
    "family.link": "添加家庭共济亲属", "family.link_refused": "添加亲属被拒（信息不符或尝试次数过多）",
    "family.consent.accept": "亲属同意共济",
    "family.consent.decline": "亲属拒绝共济",
    "family.consent.expire": "共济邀请过期", "family.payment": "家庭共济代缴", "family.revoke": "解除家庭共济",
    "family.reminders.on": "开启亲属断缴提醒", "family.reminders.off": "关闭亲属断缴提醒",
    "payment.settled": "网上缴费到账", "payment.held": "网上缴费待人工核对", "payment.refunded": "网上缴费已退款",
    "payment.duplicate": "重复支付待退款", "payment.order_closed": "订单已关闭后收到支付",
    "payment.unknown_order": "收到无对应订单的支付",
    "payment.refund_requested": "发起网上缴费退款", "payment.refund_finished": "网上缴费退款结果",
}

DETAILS = {
    "id_number": "身份证号", "name": "姓名", "factor": "核验方式", "reason": "原因", "remaining": "剩余尝试次数",
    "retry_at": "可再次尝试时间", "rows": "行数", "persons": "参保人", "contributions": "缴费月份",
    "premiums": "居民医保缴费", "credits": "个人账户", "created": "新增", "updated": "更新", "unchanged": "未变",
    "errors": "错误数", "lines": "出错行号", "bindings": "绑定数", "role": "角色", "failures": "连续失败次数",
    "until": "锁定至", "based_on": "基于版本", "changes": "变更", "effective_from": "生效日期",
    "replaces": "替代版本", "restored": "恢复版本", "restored_effective_from": "恢复版本生效日期",
    "hash": "内容校验码", "holder_person_id": "共济人", "relative_person_id": "亲属",
    "relative_name": "亲属姓名", "relative_id_number": "亲属身份证号", "relationship": "关系",
    "link_id": "共济关系编号",
    "item": "缴费项目", "amount": "金额（元）", "by": "操作方", "other_person_id": "另一方",
    "consent_mode": "同意方式", "status": "状态",
    "out_trade_no": "订单号", "transaction_id": "微信支付单号", "why": "情况",
}
REASONS = {"mismatch": "信息与登记不符", "locked": "账户已锁定", "pending": "核验中"}
_WORDS = {  # coded detail values: family consent modes and link states
    "attested_minor": "监护人代未成年子女确认", "attested_offline": "线下核实", "wechat": "亲属在微信中同意",
    "pending": "等待亲属同意", "active": "已生效", "expired": "已过期", "revoked": "已解除",
    "held": "与订单不符，待核对", "duplicate": "同一订单重复付款", "unknown_order": "没有对应订单",
}
_BY = {"holder": "共济人", "relative": "亲属"}
_ACTORS = {"staff": "工作人员", "citizen": "参保人", "system": "系统", "wechat": "微信用户"}
_SYSTEM = {"admin": "后台", "demo": "演示", "reminders": "提醒", "family": "家庭共济", "scheduler": "定时任务",
           "import": "导入"}
_DATA = {"hash", "based_on", "replaces", "restored", "item"}  # shown as stored: version labels, digests
_MOMENTS = {"retry_at", "until"}  # stored as UTC ISO text
_PERSON = re.compile(r"(?:citizen:#|person:)(\d+)")


@dataclass(frozen=True, slots=True)
class Described:
    at: datetime
    action: str
    actor: str
    subject: str
    person_id: int | None  # the citizen the row is about, for a link
    details: list[tuple[str, str, bool]] = field(default_factory=list)  # (label, value, value is stored data)
    changes: list[tuple[str, str, str]] = field(default_factory=list)


def action_name(code: str) -> str:
    return ACTIONS.get(code, "其他操作")


def _masked_openid(openid: str) -> str:
    return openid[:6] + "…" if len(openid) > 6 else openid


def party(text: str, names: Mapping[str, str] | None = None) -> str:
    """``staff:alice`` → 工作人员 alice; ``citizen:#4`` → 参保人 #4; ``wechat:o6_b…`` masked."""
    kind, _, rest = text.partition(":")
    if kind == "wechat":
        return f"微信用户 {_masked_openid(rest)}"
    if kind == "system":
        return f"系统（{_SYSTEM.get(rest, rest)}）"
    if kind in ("citizen", "person"):
        return f"参保人 {rest if rest.startswith('#') else '#' + rest}"
    if kind == "family_link":
        return f"家庭共济关系 #{rest}"
    if kind == "family_payment":
        return f"家庭共济代缴 #{rest}"
    if kind == "sha256":
        return f"上传文件（校验码 {rest[:8]}）"
    if kind == "today":
        return f"演示日期 {rest}"
    if "@" in text and not kind.startswith("staff"):
        code, _, version = text.partition("@")
        return f"{(names or {}).get(code, code)} {version} 版规则"
    return f"{_ACTORS[kind]} {rest}" if kind in _ACTORS else text


def _value(key: str, value: Any, tz: ZoneInfo) -> str:
    if key in _MOMENTS and isinstance(value, str):
        try:
            return datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M")
        except ValueError:
            return value
    if key == "reason":
        return REASONS.get(str(value), str(value))
    if key in ("consent_mode", "status", "why"):
        return _WORDS.get(str(value), str(value))
    if isinstance(value, dict):
        return "，".join(f"{DETAILS.get(k, k)} {_value(k, v, tz)}" for k, v in value.items())
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if key == "by":
        return _BY.get(str(value), str(value))
    if key in ("holder_person_id", "relative_person_id", "other_person_id"):
        return f"参保人 #{value}"
    return value_words(key, value)


def describe(event: AuditEvent, tz: str, names: Mapping[str, str] | None = None) -> Described:
    """The row in words; times in the details in the bureau's time zone ``tz``, regions by ``names``.

    A rule file's name is left out: the subject already says which region and version it held.
    """
    zone = ZoneInfo(tz)
    details = event.details or {}
    person = _PERSON.fullmatch(event.subject or "") or _PERSON.fullmatch(event.actor or "")
    changes = [(path_label(str(c.get("path", ""))), value_words(str(c.get("path", "")), c.get("old")),
                value_words(str(c.get("path", "")), c.get("new"))) for c in details.get("changes") or []]
    return Described(
        at=event.at, action=action_name(event.action), actor=party(event.actor, names),
        subject=party(event.subject or "", names),
        person_id=int(person.group(1)) if person else None,
        details=[(DETAILS.get(key, key), _value(key, value, zone), key in _DATA) for key, value in details.items()
                 if key not in ("changes", "file")],
        changes=changes,
    )
