"""The citizen-facing surfaces of the 补缴 quote engine: WeChat reply, H5 pages, JSON API and CLI.

Every surface shows the same thing, ``Quote.to_json()`` from :mod:`miniservice.rules.quote`, built
from the registry (:mod:`.facts`) with the rule versions in force on the quote's date
(:mod:`miniservice.rulebook.resolve`); :mod:`.service` is the one place that joins them.
"""
