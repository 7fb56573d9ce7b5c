"""Bureau staff pages under ``/admin``: sign-in, rule versions, previews, audit log, dashboards, imports."""
