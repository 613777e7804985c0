"""Alembic's environment for diplodigest: always run through `storage.migrations.upgrade`, which
hands over an open connection (SQLite or PostgreSQL). Each revision commits on its own, together
with the recorded version, so a kill -9 during an upgrade leaves the last whole revision."""

from alembic import context

from storage.migrations import record_sqlite_version

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    transactional_ddl=True,  # SQLite and PostgreSQL both roll DDL back with the transaction
    transaction_per_migration=True,
    on_version_apply=record_sqlite_version,
    render_as_batch=connection.dialect.name == "sqlite",  # ALTER TABLE by copy on SQLite
)
with context.begin_transaction():
    context.run_migrations()
