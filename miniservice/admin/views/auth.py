"""Sign-in and sign-out; the lockout itself lives in :mod:`miniservice.admin.accounts`."""

from __future__ import annotations

import time
from typing import Any
from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from miniservice import state
from miniservice.admin.accounts import authenticate, end_sessions
from miniservice.admin.blueprint import bp
from miniservice.admin.forms import ConfirmForm, LoginForm
from miniservice.admin.principal import Staff
from miniservice.db import get_db


def _next_page() -> str:
    """Only a path inside /admin may be returned to, so login cannot be used as an open redirect."""
    target = request.args.get("next", "")
    if target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.dashboard")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("admin.dashboard"))
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        result = authenticate(get_db(), form.username.data.strip(), form.password.data,
                              request.remote_addr or "unknown")
        if result.user is not None:
            session.clear()
            login_user(Staff.of(result.user))
            session["admin_seen"] = int(time.time())
            return redirect(_next_page())
        if result.locked_until is not None:
            tz = state.settings().timezone
            until = result.locked_until.astimezone(ZoneInfo(tz)).strftime("%H:%M")
            error, status = f"登录失败次数过多，账户已锁定，请于 {until} 后再试。", 423
        else:
            error, status = "用户名或密码错误。", 401
    elif request.method == "POST":
        error, status = "请填写用户名和密码。", 400
    return render_template("admin/login.html", form=form, error=error), status


@bp.post("/logout")
def logout() -> Any:
    if ConfirmForm().validate_on_submit():
        end_sessions(get_db(), current_user.id, current_user.actor)
        logout_user()
        session.clear()
        flash("已退出登录。", "info")
    return redirect(url_for("admin.login"))
