"""A city's bound citizens with contribution histories, generated inside the database.

Why SQL and not ORM objects: a million people with two years of monthly rows is ~20 million rows;
building them in Python would take longer than the scan being measured. Every statement here is one
``INSERT … SELECT`` over a number series (``generate_series`` on PostgreSQL, a recursive CTE on
SQLite), so the database writes at its own speed. Every attribute is a deterministic function of
the person's id (a multiplicative hash), so the same ``count`` always gives the same city.

Identity columns hold dummy values, except the ID number: a quote reads the birth date and sex from
it, so each person gets one of ``SEALED_IDS`` real tokens (sealed with ``BENCH_DATA_KEY``). The mix
(per person, by hash):

* scheme: 55% 职工医保 in a unit, 20% 灵活就业, 20% 居民医保, 5% retired;
* months since the last covered month (职工/灵活): 5% paid ahead, 83% current (last month), 12% behind
  by 2–7 months, the owed months present as ``unpaid`` rows; 1 in 50 months a ``back_paid``;
* history: 12–36 months of rows (older months are assumed archived);
* 居民医保: the last four years paid, next year's premium already paid by 70%;
* everyone bound and following; 1% unsubscribed, 3% opted out of reminders, 1 in 50 a 家庭共济 holder
  with a linked relative and gap reminders on;
* districts: ten of 成都 (five in six people) and two elsewhere, so planning sees several rule groups.

``person.gap_from`` (the open-gap start the database keeps) is written with the person: the month
after the last paid one (every month up to it is covered), or the enrolment month. Where the
triggers run (SQLite, the tests) they recompute the same value; on PostgreSQL the load runs with
them off, as a bulk load would, and ``bench.plan_scale`` checks a sample against the months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Engine, text

from bench.common import BENCH_DATA_KEY
from miniservice.citizens.identity import IdentityVault, id_check_char
from miniservice.rules.months import Month

DISTRICTS = ("510104", "510105", "510106", "510107", "510108", "510112", "510113", "510114", "510115",
             "510116", "110105", "440304")
MAX_HISTORY = 36
MAX_LAG = 7
TRIGGERED = ("contribution", "person")  # their triggers keep person.gap_from
TABLES = ("reminder_attempt", "reminder", "family_link", "follower", "binding", "resident_premium",
          "contribution", "person")


SEALED_IDS = 24


RETIREE_IDS = 3  # the first three are born 1961, 1963 and 1965: old enough to have retired


def _sealed_id(i: str, count: int = SEALED_IDS) -> str:
    """One of the first ``count`` valid ID numbers, encrypted (born 1961 … 2007, both sexes)."""
    vault = IdentityVault(BENCH_DATA_KEY)
    cases = []
    for n in range(count):
        first17 = f"{DISTRICTS[n % len(DISTRICTS)]}{1961 + 2 * n}{1 + n % 12:02d}15{n:02d}{1 + n % 2}"
        cases.append(f"WHEN {n} THEN '{vault.encrypt(first17 + id_check_char(first17))}'")
    return f"(CASE {i} % {count} {' '.join(cases)} END)"


def _hash(i: str, salt: int, modulo: int) -> str:
    """A pseudo-random 0 … modulo-1 per person (Knuth's multiplicative hash; fits in 64 bits)."""
    return f"((({i} + {salt}) * 2654435761) % 1000003 % {modulo})"


@dataclass(frozen=True)
class Dialect:
    """The few expressions that differ between PostgreSQL and SQLite."""

    postgresql: bool

    def series(self, name: str, count: int) -> str:
        if self.postgresql:
            return f"{name}(i) AS (SELECT generate_series(1, {int(count)}))"
        return f"{name}(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM {name} WHERE i < {int(count)})"

    def with_clause(self, *series: str) -> str:
        return ("WITH " if self.postgresql else "WITH RECURSIVE ") + ", ".join(series)

    def month_day(self, month_index: str, day: int) -> str:
        """The date of ``day`` in the month whose ``Month.index`` is ``month_index``."""
        if self.postgresql:
            return f"make_date(CAST(({month_index}) / 12 AS integer), CAST(({month_index}) % 12 + 1 AS integer), {day})"
        return f"printf('%04d-%02d-%02d', ({month_index}) / 12, ({month_index}) % 12 + 1, {day})"

    def timestamp(self, day: date) -> str:
        return f"TIMESTAMPTZ '{day.isoformat()} 00:00:00+00'" if self.postgresql else f"'{day.isoformat()} 00:00:00'"


def _scheme(i: str) -> str:
    share = _hash(i, 11, 100)
    return (f"(CASE WHEN {share} < 55 THEN 'employee' WHEN {share} < 75 THEN 'flexible' "
            f"WHEN {share} < 95 THEN 'resident' ELSE 'retiree' END)")


def _lag(i: str) -> str:
    """Months from the last covered month to the planning month (1 = paid through last month)."""
    per_mille = _hash(i, 23, 1000)
    return f"(CASE WHEN {per_mille} < 50 THEN 0 WHEN {per_mille} < 880 THEN 1 ELSE 2 + {per_mille} % 6 END)"


def _history(i: str) -> str:
    return f"(12 + {_hash(i, 37, MAX_HISTORY - 11)})"


def _region(i: str) -> str:
    pick = _hash(i, 5, 60)
    cases = " ".join(f"WHEN {pick} < {5 * (n + 1)} THEN '{code}'" for n, code in enumerate(DISTRICTS[:10]))
    return f"(CASE {cases} WHEN {pick} < 55 THEN '{DISTRICTS[10]}' ELSE '{DISTRICTS[11]}' END)"


def generate(engine: Engine, count: int, on: date) -> dict[str, int]:
    """Empty the citizen tables and fill them with ``count`` people as of ``on``; returns row counts."""
    postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        for table in TABLES:
            connection.execute(text(f"DELETE FROM {table}"))
        triggers(connection, enabled=not postgresql)  # SQLite keeps them: the tests check what they keep
        for statement in people_statements(postgresql, 1, count, count, on):
            connection.execute(text(statement))
        triggers(connection, enabled=True)
    return finish(engine)


def triggers(connection: Connection, *, enabled: bool) -> None:
    """Switch the triggers that keep ``person.gap_from`` (PostgreSQL): a bulk load writes the value
    itself rather than updating a person once per paid month."""
    if connection.dialect.name == "postgresql":
        for table in TRIGGERED:
            connection.execute(text(f"ALTER TABLE {table} {'ENABLE' if enabled else 'DISABLE'} TRIGGER USER"))


def people_statements(postgresql: bool, first: int, last: int, size: int, on: date) -> list[str]:
    """The INSERT … SELECTs adding people ``first`` … ``last`` (ids) and all their rows as of ``on``.

    Ranges are independent (a person's rows depend only on the id), so a large city can be built in
    several ranges, side by side on several connections; a 家庭共济 holder links to the next id
    (which may fall in the next range) when the city of ``size`` people has it.
    """
    dialect = Dialect(postgresql)
    now = dialect.timestamp(on)
    current = Month.of(on).index
    i = "g.i"
    last_paid = f"({current} - {_lag(i)})"
    first_month = f"({last_paid} - {_history(i)} + 1)"
    resident_enrolled = dialect.month_day(str((on.year - 6) * 12), 1)
    ids = f"id BETWEEN {int(first)} AND {int(last)}"
    people = f"""
        {dialect.with_clause(dialect.series("s", last - first + 1))}
        INSERT INTO person (id, id_number_hash, id_number_cipher, id_number_masked, name_cipher, name_masked,
                            region_code, scheme, unemployed, enrolled_since, deemed_months, created_at, gap_from)
        SELECT {i}, 'bench-id-' || {i},
               CASE WHEN {_scheme(i)} = 'retiree' THEN {_sealed_id(i, RETIREE_IDS)} ELSE {_sealed_id(i)} END,
               '5101*************' || ({i} % 10),
               'gAAAAA-bench-name-' || {i}, '张*', {_region(i)}, {_scheme(i)},
               {_hash(i, 17, 100)} = 0,
               CASE WHEN {_scheme(i)} IN ('employee', 'flexible') THEN {dialect.month_day(first_month, 1)}
                    ELSE {resident_enrolled} END,
               0, {now},
               CASE WHEN {_scheme(i)} IN ('employee', 'flexible') THEN {last_paid} + 1
                    ELSE {(on.year - 6) * 12} END
        FROM (SELECT s.i + {int(first) - 1} AS i FROM s) AS g"""
    contributions = f"""
        {dialect.with_clause(dialect.series("k", MAX_HISTORY + MAX_LAG))}
        INSERT INTO contribution (person_id, month, scheme, base, unit_amount, personal_amount, status, paid_on,
                                  payer)
        SELECT g.i, {first_month} + k.i - 1, g.scheme, 800000,
               CASE WHEN g.scheme = 'employee' THEN 64000 ELSE 0 END,
               CASE WHEN g.scheme = 'employee' THEN 16000 ELSE 80000 END,
               CASE WHEN {first_month} + k.i - 1 > {last_paid} THEN 'unpaid'
                    WHEN ({i} + k.i) % 50 = 0 THEN 'back_paid' ELSE 'paid' END,
               CASE WHEN {first_month} + k.i - 1 > {last_paid} THEN NULL
                    ELSE {dialect.month_day(f"{first_month} + k.i", 10)} END,
               CASE WHEN {first_month} + k.i - 1 > {last_paid} THEN NULL
                    WHEN g.scheme = 'employee' THEN 'unit' ELSE 'self' END
        FROM (SELECT id AS i, scheme FROM person WHERE scheme IN ('employee', 'flexible') AND {ids}) AS g
        JOIN k ON k.i <= {_history(i)} + (CASE WHEN {_lag(i)} > 1 THEN {_lag(i)} - 1 ELSE 0 END)
        ORDER BY g.i, k.i"""
    premiums = f"""
        {dialect.with_clause(dialect.series("y", 5))}
        INSERT INTO resident_premium (person_id, year, amount, status, paid_on, payer)
        SELECT g.i, {on.year - 4} + y.i, 40000, 'paid', {dialect.month_day(f"({on.year - 5} + y.i) * 12 + 9", 20)},
               'self'
        FROM (SELECT id AS i FROM person WHERE scheme = 'resident' AND {ids}) AS g
        JOIN y ON y.i <= 4 OR {_hash(i, 29, 10)} < 7
        ORDER BY g.i, y.i"""
    bindings = f"INSERT INTO binding (openid, person_id, bound_at) SELECT 'obench' || id, id, {now} FROM person " \
               f"WHERE {ids}"
    followers = f"""
        INSERT INTO follower (openid, subscribed, subscribed_at, reminders_enabled)
        SELECT 'obench' || id, {_hash("id", 41, 100)} <> 0, {now}, {_hash("id", 43, 100)} >= 3 FROM person
        WHERE {ids}"""
    links = f"""
        INSERT INTO family_link (holder_id, relative_id, relationship, status, consent_mode, active_key, remind_gaps,
                                 created_at, activated_at)
        SELECT id, id + 1, 'parent', 'active', 'attested_offline', id || ':' || (id + 1), TRUE, {now}, {now}
        FROM person WHERE id % 50 = 0 AND {ids} AND id < {int(size)}"""
    return [people, contributions, premiums, bindings, followers, links]


def finish(engine: Engine) -> dict[str, int]:
    """After the people are in: the person id sequence past them, statistics; returns row counts."""
    postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgresql:
            connection.execute(text("SELECT setval(pg_get_serial_sequence('person', 'id'), "
                                    "(SELECT COALESCE(max(id), 1) FROM person))"))
        counts = {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                  for table in TABLES[2:]}
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # What autovacuum would have done to a table that grew slowly: statistics and a visibility map.
        connection.execute(text("VACUUM ANALYZE" if postgresql else "ANALYZE"))
    return counts
