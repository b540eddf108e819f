"""Alembic environment of the portal database: the target is the app's SQLAlchemy metadata
(``pipelines.service.db.Base.metadata``).

The portal runs ``upgrade head`` itself when it starts (``pipelines.service.migrate.upgrade``), on the
connection it hands over in ``config.attributes["connection"]``. From the command line
(``python -m pipelines.service db …`` or ``alembic -c pipelines/service/migrations/alembic.ini …``) the URL
is ``-x url=…``, else ``sqlalchemy.url``, else the portal's own (``HEMISTAT_DB_URL`` or the SQLite file in the
data folder).
"""

from __future__ import annotations

from alembic import context

from pipelines.service.db import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from pipelines.service.config import PortalConfig
    from pipelines.settings import get_settings

    s = get_settings()
    return PortalConfig.from_env(s).db_url


def _configure(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True,
                      render_as_batch=connection.dialect.name == "sqlite")   # SQLite alters tables by copying


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:            # the portal's own start: its connection, its transaction
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    from pipelines.service.db import make_engine

    engine = make_engine(_url())
    try:
        with engine.begin() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
