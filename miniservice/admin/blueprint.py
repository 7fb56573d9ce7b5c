"""The ``/admin`` blueprint: every page behind a staff sign-in, every form behind a CSRF token.

Flask-WTF's CSRFProtect is installed with its app-wide check switched off (the WeChat callback is
posted by WeChat, which has no token) and switched on here for every request of this blueprint;
H5 pages validate their own FlaskForms. A session idle for ``IDLE_LIMIT`` is signed out. The pages
live in :mod:`miniservice.admin.views` and in features' ``admin_views``; :func:`miniservice.admin.init_app`
imports them by name before it registers this blueprint.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask.blueprints import BlueprintSetupState
from flask_login import LoginManager, current_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from miniservice import state
from miniservice.admin.accounts import has_role, load_user
from miniservice.admin.principal import Staff
from miniservice.db import get_db

IDLE_LIMIT = 30 * 60  # seconds
PUBLIC_ENDPOINTS = {"admin.login"}

bp = Blueprint("admin", __name__, url_prefix="/admin")
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "admin.login"
login_manager.login_message = "请先登录。"
login_manager.session_protection = "basic"


@bp.record_once
def _install(state: BlueprintSetupState) -> None:
    app: Flask = state.app
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    if "csrf" not in app.extensions:
        csrf.init_app(app)
    login_manager.init_app(app)


@login_manager.user_loader
def _load(session_id: str) -> Staff | None:
    parsed = Staff.parse_id(session_id)
    user = load_user(get_db(), *parsed) if parsed else None
    return Staff.of(user) if user else None


@bp.before_request
def _guard() -> Any:
    """Sign-in first (a stranger is sent to the login page), then the idle limit, then CSRF."""
    if request.endpoint not in PUBLIC_ENDPOINTS:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        now = int(time.time())
        seen = session.get("admin_seen", now)
        if now - seen > IDLE_LIMIT:
            logout_user()
            session.clear()
            flash("长时间未操作，已自动退出，请重新登录。", "info")
            return redirect(url_for("admin.login", next=request.path))
        session["admin_seen"] = now
    csrf.protect()
    return None


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    tz = ZoneInfo(state.settings().timezone)

    def local(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
        return moment.astimezone(tz).strftime(pattern) if moment else ""

    def can(role: str) -> bool:
        return current_user.is_authenticated and has_role(current_user.role, role)

    return {"local": local, "can": can}


@bp.errorhandler(CSRFError)
def _csrf_failed(error: CSRFError) -> Any:
    message = "表单已过期或缺少安全令牌，请返回页面刷新后重试。"
    return render_template("admin/error.html", code=400, message=message), 400


@bp.errorhandler(403)
@bp.errorhandler(404)
def _http_error(error: HTTPException) -> Any:
    messages = {403: "您的账户没有执行此操作的权限。", 404: "页面不存在。"}
    code = error.code or 500
    return render_template("admin/error.html", code=code, message=messages.get(code, error.description)), code

