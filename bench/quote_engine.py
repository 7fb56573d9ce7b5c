"""Quotes per second of the pure engine (``miniservice.rules.quote``) for typical gaps.

The rules of every region are resolved once, as the app's cache holds them; what is timed is
``quote(rules, facts, on)`` alone, and separately ``quote(...).to_json()`` (what the H5 API returns).
Cases (employee = 职工医保 in a unit, flexible = 灵活就业, resident = 居民医保): self-caused gaps of two
and four months, a unit-caused gap, a twelve-month gap past the back-pay window, two years of 断保
for a resident, and a retiree's top-up, each in six regions. Printed per case and overall, with
the ratio to the fastest case.

``python -m bench.quote_engine [--seconds S]``; ``--smoke`` runs each case a few times.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date

from bench.common import POLICIES, machine_lines
from miniservice.rules import CitizenFacts, Month, Scheme, load_rulebook, quote
from miniservice.rules.kinds import Cause, Sex
from miniservice.rules.schema import RegionRules

ON = date(2025, 12, 10)
REGIONS = ("110000", "310000", "320100", "440300", "510100", "360100")


def cases() -> dict[str, Callable[[str], CitizenFacts]]:
    now = Month.of(ON)
    return {
        "employee self 2 mo": lambda r: CitizenFacts(r, Scheme.EMPLOYEE, now - 3, now - 2, continuous_months_before=60),
        "flexible self 4 mo": lambda r: CitizenFacts(r, Scheme.FLEXIBLE, now - 5, now - 2, continuous_months_before=30),
        "employee unit 3 mo": lambda r: CitizenFacts(r, Scheme.EMPLOYEE, now - 4, now - 2, cause=Cause.UNIT,
                                                     continuous_months_before=120),
        "flexible 12 mo": lambda r: CitizenFacts(r, Scheme.FLEXIBLE, now - 13, now - 2, continuous_months_before=24),
        "resident 2 yr gap": lambda r: CitizenFacts(r, Scheme.RESIDENT, resident_gap_years=2),
        "retiree top-up": lambda r: CitizenFacts(r, Scheme.RETIREE, sex=Sex.FEMALE, birth_date=date(1970, 3, 1),
                                                 paid_months=18 * 12),
    }


def rate(rules: dict[str, RegionRules], make: Callable[[str], CitizenFacts], seconds: float, minimum: int,
         as_json: bool) -> float:
    """Quotes a second, cycling through the regions, for at least ``seconds`` and ``minimum`` quotes."""
    facts = [(rules[code], make(code)) for code in REGIONS]
    done, started = 0, time.perf_counter()
    while done < minimum or time.perf_counter() - started < seconds:
        for region_rules, citizen in facts:
            result = quote(region_rules, citizen, ON)
            if as_json:
                result.to_json()
        done += len(facts)
    return done / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per case and mode")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args(argv)
    seconds, minimum = (0.0, len(REGIONS)) if args.smoke else (args.seconds, 100)
    for line in machine_lines():
        print(line)
    book = load_rulebook(POLICIES)
    rules = {code: book.resolve(code) for code in REGIONS}
    print(f"regions: {', '.join(f'{code} {rules[code].name}' for code in REGIONS)}; on {ON.isoformat()}")
    print(f"{'case':<20} {'quotes/s':>10} {'µs/quote':>9} {'+to_json/s':>11} {'vs fastest':>11}")
    for make in cases().values():  # warm every path (rule look-ups, caches) before anything is timed
        rate(rules, make, 0.0, 10 * len(REGIONS), True)
    measured = {name: (rate(rules, make, seconds, minimum, False), rate(rules, make, seconds, minimum, True))
                for name, make in cases().items()}
    fastest = max(plain for plain, _ in measured.values())
    for name, (plain, with_json) in measured.items():
        print(f"{name:<20} {plain:>10,.0f} {1e6 / plain:>9.0f} {with_json:>11,.0f} {plain / fastest:>10.2f}x")
    overall = len(measured) / sum(1 / plain for plain, _ in measured.values())
    print(f"{'all cases (mean)':<20} {overall:>10,.0f} {1e6 / overall:>9.0f}   (one core, one process)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
