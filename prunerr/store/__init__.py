"""The database, and the only place with SQL.

`database` opens it (SQLite or PostgreSQL) and migrates it (`schema`); `entities` maps every table
for Pony. One repository module per aggregate holds its queries, each function running inside the
caller's db_session: `items` (the synced library as the rules read it) and `item_writer` (as the
sync writes it), `plays`, `requests`, `accounts`, `sync_state`, `collections`, `rules`,
`queue_entries`, `deletions`, `activity`, `snapshots`, `settings` and `job_runs`.
"""
