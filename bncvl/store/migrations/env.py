"""Alembic's environment for the store: run the migrations on the connection that bncvl.store.engine hands over.

That connection is already inside the transaction that holds the store's
migration lock, so concurrent publishers migrate a fresh store once.
"""

from alembic import context

from bncvl.store.schema import metadata

context.configure(
    connection=context.config.attributes["connection"],
    target_metadata=metadata,
    render_as_batch=True,  # SQLite changes a table by copying it; Alembic's batch mode writes that for a migration
)
with context.begin_transaction():
    context.run_migrations()
