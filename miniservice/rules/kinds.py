"""Small vocabularies shared by gap detection, the rule schema and the quote engine.

They are ``StrEnum`` so that the same words appear in rule files, JSON and the database without a
translation table.
"""

from __future__ import annotations

from enum import StrEnum


class Scheme(StrEnum):
    """Which 医保 scheme a citizen's record belongs to."""

    EMPLOYEE = "employee"  # 职工医保, paid by a unit (单位) and the employee
    FLEXIBLE = "flexible"  # 灵活就业: 职工医保 paid by the citizen alone
    RESIDENT = "resident"  # 居民医保: paid once a year in the 集中缴费期
    RETIREE = "retiree"  # 退休: nothing owed once the required years are reached


class PayStatus(StrEnum):
    """Status of one contribution month; a month with no record is treated as unpaid."""

    PAID = "paid"
    UNPAID = "unpaid"
    BACK_PAID = "back_paid"  # 补缴: counts as covered and as continuous enrolment


class Cause(StrEnum):
    """Who caused a gap; it decides who owes the arrears and the late fee."""

    UNIT = "unit"  # 单位原因: the unit pays, the citizen owes nothing
    SELF = "self"  # 个人原因: the citizen pays arrears and, where the region says so, the late fee


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"
