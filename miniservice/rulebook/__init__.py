"""Regional rule versions kept in the database: import, drafts, publication by date, rollback, export."""
