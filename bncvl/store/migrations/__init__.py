"""The store's schema migrations (Alembic), shipped inside the package so an installed wheel can migrate.

``bncvl.store.engine`` runs them on open; revisions are numbered ``0001``,
``0002``... and the number is the schema version that errors name. To add
one: change :mod:`bncvl.store.schema`, then write ``versions/NNNN_what.py``
by hand or with ``alembic revision --autogenerate --rev-id NNNN`` against a
store at the previous version; ``tests/test_store.py`` checks that the
migrations build exactly the metadata.
"""
