"""``rotate-data-key``: every person moves to the new keys in batches, resumably, while look-ups go on."""

from __future__ import annotations

import threading
import time
from base64 import urlsafe_b64encode
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from miniservice import create_app
from miniservice.citizens.binding import BindRequest, bind
from miniservice.citizens.identity import IdentityVault, Key
from miniservice.citizens.importing import import_records
from miniservice.citizens.lookup import person_by_id_number
from miniservice.citizens.models import Binding, Person
from miniservice.citizens.privacy import PRIVACY_VERSION
from miniservice.citizens.rotation import RotationProgress, rotate_identity_keys, rows_to_move
from miniservice.db import Database
from miniservice.devtools.fake_wechat import FakeWeChat
from tests.citizens.conftest import HEADER, valid_id
from tests.conftest import TEST_DATA_KEY, sealed_person, test_settings

NEW_DATA = Key("d2", urlsafe_b64encode(b"new data key, 32 bytes or more..").decode())
NEW_LOOKUP = Key("l2", urlsafe_b64encode(b"new look-up key, kept apart.....").decode())
LEGACY = IdentityVault(TEST_DATA_KEY)
ROTATING = IdentityVault(TEST_DATA_KEY, data_keys=[NEW_DATA], lookup_keys=[NEW_LOOKUP])
NEW_ONLY = IdentityVault(data_keys=[NEW_DATA], lookup_keys=[NEW_LOOKUP])
PEOPLE = [(valid_id(f"44030519800101{n:03d}"), f"测试{chr(0x4E00 + n)}", f"CARD{n:06d}",
           f"1390000{n:04d}") for n in range(40)]


class Interrupted(Exception):
    """Stands for a killed process: raised between two committed batches."""


@pytest.fixture
def registry(db: Database) -> None:
    """Forty people sealed with the legacy ``MINISERVICE_DATA_KEY``, as an existing deployment holds them."""
    with db.transaction() as session:
        for id_number, name, card, phone in PEOPLE:
            session.add(sealed_person(LEGACY, id_number, name, card=card, phone_cipher=LEGACY.encrypt(phone),
                                      region_code="440300", scheme="flexible", enrolled_since=date(2020, 1, 1)))


@pytest.fixture
def rotating_app(app: Flask, tmp_path: Path, fake_wechat: FakeWeChat) -> Flask:
    """The same database, restarted with new keys first and the legacy key kept for the old rows."""
    settings = app.extensions["miniservice.settings"]
    return create_app(test_settings(tmp_path, settings.database_url, fake_wechat.base_url,
                                    data_keys=(NEW_DATA,), lookup_keys=(NEW_LOOKUP,)))


def test_rotation_under_concurrent_look_ups_survives_an_interruption_and_resumes(db: Database,
                                                                                 registry: None) -> None:
    stop, errors, states = threading.Event(), [], set()

    def look_up_everyone() -> None:
        while not stop.is_set():
            for id_number, name, _card, _phone in PEOPLE:
                with db.reading() as session:
                    person = person_by_id_number(session, ROTATING, id_number)
                if person is None or ROTATING.decrypt(person.name_cipher) != name:
                    errors.append(id_number)
                else:
                    states.add(ROTATING.is_current_hash(person.id_number_hash))

    def crash_after_three_batches(progress: RotationProgress) -> None:
        time.sleep(0.05)  # let the look-ups run against the half-moved table
        if progress.batches == 3:
            raise Interrupted

    reader = threading.Thread(target=look_up_everyone)
    reader.start()
    try:
        with pytest.raises(Interrupted):
            rotate_identity_keys(db, ROTATING, batch_size=5, after_batch=crash_after_three_batches)
        assert rows_to_move(db, ROTATING) == (25, 40)
        time.sleep(0.1)
        resumed = rotate_identity_keys(db, ROTATING, batch_size=5, after_batch=lambda _: time.sleep(0.02))
    finally:
        stop.set()
        reader.join()

    assert errors == []
    assert states == {True, False}  # the look-ups did meet rows under both keys
    assert (resumed.checked, resumed.moved, resumed.changed_meanwhile) == (40, 25, 0)
    assert rows_to_move(db, ROTATING) == (0, 40)
    _everyone_is_readable_and_findable_with_only_the_new_keys(db)


def test_a_run_over_moved_rows_writes_nothing(db: Database, registry: None) -> None:
    rotate_identity_keys(db, ROTATING)
    with db.reading() as session:
        before = session.execute(select(Person).order_by(Person.id)).scalars().all()
    again = rotate_identity_keys(db, ROTATING, batch_size=7)
    with db.reading() as session:
        after = session.execute(select(Person).order_by(Person.id)).scalars().all()
    assert (again.checked, again.moved) == (40, 0)
    assert [p.model_dump() for p in after] == [p.model_dump() for p in before]


def test_binding_and_importing_during_rotation_find_people_not_yet_moved(
    rotating_app: Flask, db: Database, registry: None, fake_wechat: FakeWeChat
) -> None:
    id_number, name, card, phone = PEOPLE[7]
    fake_wechat.add_follower("o-seven")
    with rotating_app.app_context():
        person = bind(db, "o-seven", BindRequest(name, id_number, "card", card, PRIVACY_VERSION))
        row = f"{id_number},{name},{phone},{card},440300,flexible,,2026-09,6000,480,120,paid,2026-09-20,self"
        report = import_records(db, f"{HEADER}\n{row}\n".encode(), "test")
    assert report.ok and (report.persons.created, report.persons.updated) == (0, 0)
    with db.reading() as session:
        assert session.execute(select(func.count()).select_from(Person)).scalar_one() == 40
        assert session.execute(select(Binding.person_id).where(Binding.openid == "o-seven")).scalar_one() == person.id


def test_the_command_checks_rotates_in_batches_and_then_finds_nothing_left(
    monkeypatch: Any, app: Flask, db: Database, registry: None, tmp_path: Path
) -> None:
    from miniservice.cli import main

    settings = app.extensions["miniservice.settings"]
    for variable, value in {"MINISERVICE_ENV": "test", "MINISERVICE_DATABASE_URL": settings.database_url,
                            "MINISERVICE_DATA_KEY": TEST_DATA_KEY, "MINISERVICE_SECRET_KEY": "k",
                            "MINISERVICE_DATA_KEYS": f"{NEW_DATA.key_id}:{NEW_DATA.secret}",
                            "MINISERVICE_LOOKUP_KEYS": f"{NEW_LOOKUP.key_id}:{NEW_LOOKUP.secret}",
                            "MINISERVICE_INSTANCE_DIR": str(tmp_path / "cli-instance")}.items():
        monkeypatch.setenv(variable, value)
    check = CliRunner().invoke(main, ["rotate-data-key", "--check"])
    assert check.exit_code == 1 and "40 of 40 people still under an older key" in check.output
    run = CliRunner().invoke(main, ["rotate-data-key", "--batch-size", "16"])
    assert run.exit_code == 0, run.output
    assert "checked 16, moved 16" in run.output and "checked 40, moved 40" in run.output
    assert "0 of 40 people still under an older key (current data key d2, look-up key l2)" in run.output
    assert CliRunner().invoke(main, ["rotate-data-key", "--check"]).exit_code == 0
    _everyone_is_readable_and_findable_with_only_the_new_keys(db)


def _everyone_is_readable_and_findable_with_only_the_new_keys(db: Database) -> None:
    with db.reading() as session:
        for id_number, name, card, phone in PEOPLE:
            person = person_by_id_number(session, NEW_ONLY, id_number)
            assert person is not None and person.id_number_hash == NEW_ONLY.lookup_hash(id_number)
            assert person.id_number_cipher.startswith("d2:") and person.id_number_hash.startswith("l2:")
            assert NEW_ONLY.decrypt(person.name_cipher) == name and NEW_ONLY.decrypt(person.phone_cipher or "") == phone
            assert person.card_number_hash == NEW_ONLY.lookup_hash(card)
            assert NEW_ONLY.id_number(person.id_number_cipher).value == id_number
            with pytest.raises(ValueError, match="not configured"):
                LEGACY.decrypt(person.card_number_cipher or "")
