"""Reminders before a gap passes the three-month line (and before the 居民医保 集中缴费期 ends)."""
