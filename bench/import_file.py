"""A registry export of ``rows`` lines in the documented format, for timing ``import-records``.

People get 24 months each (灵活就业 and 职工医保 alternating), with a valid ID number, a name, a
phone and a card, so every row passes the checks: the timing is of a clean import, the upload's
common case. ``python -m bench.import_file 70000 > big.csv`` writes the file the docs time.
"""

from __future__ import annotations

import csv
import io
import sys

from miniservice.citizens.identity import id_check_char
from miniservice.citizens.import_format import REQUIRED_COLUMNS
from miniservice.rules.months import Month

MONTHS_EACH = 24
FIRST_MONTH = Month(2023, 1)


def registry_file(rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REQUIRED_COLUMNS)
    for n in range((rows + MONTHS_EACH - 1) // MONTHS_EACH):
        first17 = f"510104{1960 + n % 40}{1 + n % 12:02d}{1 + n % 28:02d}{n % 1000:03d}"
        id_number = first17 + id_check_char(first17)
        employee = n % 2 == 0
        for k in range(min(MONTHS_EACH, rows - n * MONTHS_EACH)):
            month = Month.from_index(FIRST_MONTH.index + k)
            writer.writerow([id_number, "张三丰"[: 2 + n % 2], f"139{n:08d}", f"CD{n:010d}", "510104",
                             "employee" if employee else "flexible", "成都某公司" if employee else "", str(month),
                             "6000", "480" if employee else "0", "120" if employee else "600", "paid",
                             f"{month}-15", "unit" if employee else "self"])
    return out.getvalue().encode("utf-8")


if __name__ == "__main__":
    sys.stdout.buffer.write(registry_file(int(sys.argv[1]) if len(sys.argv) > 1 else 70_000))
