"""With ``settings.redis_url`` the binding guesses are also counted in Redis, which every worker reads."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask import Flask

from miniservice.citizens.binding import BindingRefused, BindRequest, bind
from miniservice.citizens.importing import ImportReport
from miniservice.db import Database
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
    bind(db, "o-alice", BindRequest(ALICE["name"], ALICE["id_number"], "card", ALICE["card"]))
    client = redis.Redis.from_url(redis_url)
    assert all(client.zcard(key) == 0 for key in client.keys("miniservice:binding-attempts:*"))
