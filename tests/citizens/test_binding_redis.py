"""With ``settings.redis_url`` the binding guesses are also counted in Redis, which every worker reads."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from miniservice.citizens.attempts import get_limiter
from miniservice.citizens.binding import BindingRefused, BindRequest, bind
from miniservice.citizens.importing import ImportReport
from miniservice.citizens.models import BindingAttempt
from miniservice.citizens.privacy import PRIVACY_VERSION
from miniservice.db import Database
from miniservice.redis_store import redis_client
from tests.citizens.conftest import ALICE, five_wrong_guesses_then_rows_lost


@pytest.fixture
def app_overrides(redis_url: str) -> dict[str, Any]:
    return {"redis_url": redis_url}


def test_redis_keeps_the_count_when_the_database_rows_are_gone(
    ctx: Flask, db: Database, registry: ImportReport, redis_url: str
) -> None:
    right = five_wrong_guesses_then_rows_lost(db, "o-mallory")
    with pytest.raises(BindingRefused) as blocked:
        bind(db, "o-mallory", right)
    assert blocked.value.code == "blocked"
    keys = redis.Redis.from_url(redis_url).keys("miniservice:binding-attempts:*")
    assert len(keys) == 2  # one set per WeChat user, one per ID hash; no clear ID number in a key
    assert all(ALICE["id_number"].encode() not in key for key in keys)


def test_a_successful_binding_leaves_no_attempt_behind_in_redis(
    ctx: Flask, db: Database, registry: ImportReport, redis_url: str
) -> None:
    bind(db, "o-alice", BindRequest(ALICE["name"], ALICE["id_number"], "card", ALICE["card"], PRIVACY_VERSION))
    client = redis.Redis.from_url(redis_url)
    assert all(client.zcard(key) == 0 for key in client.keys("miniservice:binding-attempts:*"))


class _DiesAfter:
    """The real Redis client, whose pipelines fail once ``working`` of them have run: Redis dying mid-way."""

    def __init__(self, client: redis.Redis, working: int) -> None:
        self.client = client
        self.working = working

    def pipeline(self) -> Any:
        if self.working <= 0:
            raise redis.ConnectionError("Connection closed by server.")
        self.working -= 1
        return self.client.pipeline()


@pytest.mark.parametrize("working", [0, 1], ids=["before-the-count", "between-count-and-release"])
def test_redis_dying_mid_way_changes_no_answer_and_leaves_nothing_pending(
    ctx: Flask, db: Database, registry: ImportReport, redis_url: str, working: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_limiter(), "redis", _DiesAfter(redis_client(redis_url), working))
    wrong = BindRequest(ALICE["name"], ALICE["id_number"], "card", "SZ9999999999", PRIVACY_VERSION)
    with pytest.raises(BindingRefused) as refused:
        bind(db, "o-mallory", wrong)
    assert refused.value.code == "mismatch"
    person = bind(db, "o-alice", BindRequest(ALICE["name"], ALICE["id_number"], "card", ALICE["card"], PRIVACY_VERSION))
    assert person.name_masked == "林*雨"
    with db.reading() as session:
        reasons = session.execute(select(BindingAttempt.reason)).scalars().all()
    assert reasons == ["mismatch"]  # the wrong guess counted in the database; nothing left pending
