import logging
from contextlib import nullcontext
from logging.config import fileConfig

from alembic import context
from flask import current_app

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically. Without disable_existing_loggers=False it would silence
# every logger made before the migrations ran: a process that upgrades in place (the tests, a
# script) would then never log the desk's warnings (desk.*) nor Flask-Limiter's.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    try:
        # this works with Flask-SQLAlchemy<3 and Alchemical
        return current_app.extensions['migrate'].db.engine
    except (TypeError, AttributeError):
        # this works with Flask-SQLAlchemy>=3
        return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True,
        transaction_per_migration=True,  # as online: each migration's SQL between its own BEGIN/COMMIT
    )

    with context.begin_transaction():
        context.run_migrations()


def render_item(type_, obj, autogen_context):
    """Write the desk's UTCDateTime as a plain sa.DateTime(timezone=True): migrations must
    not import application code that may change after them."""
    from desk.models.base import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def include_object(obj, name, type_, reflected, compare_to):
    """Leave out what migration 0002 builds outside the models: the search indexes."""
    from desk.tickets.search import is_search_index

    return not is_search_index(name)


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    if conf_args.get("render_item") is None:
        conf_args["render_item"] = render_item
    conf_args.setdefault("include_object", include_object)

    # Each migration all or nothing (desk/schema.py): its own transaction, committed with its
    # alembic_version row, so one that fails half-way leaves the database as the previous one
    # left it. PostgreSQL's DDL is transactional as it is; SQLite's becomes so on this
    # connection (sqlite_transactional_ddl), batch "move and copy" included.
    from desk.schema import check_foreign_keys, sqlite_transactional_ddl

    def foreign_keys_hold(ctx, step, heads, run_args):
        revision = step.up_revision_id if step.is_upgrade else f"{step.up_revision_id} (downgrade)"
        check_foreign_keys(ctx.connection, revision)

    conf_args["transaction_per_migration"] = True
    conf_args["on_version_apply"] = [foreign_keys_hold]

    connectable = get_engine()

    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        with sqlite_transactional_ddl(connection) if sqlite else nullcontext():
            context.configure(
                connection=connection,
                target_metadata=get_metadata(),
                transactional_ddl=True,
                **conf_args
            )

            with context.begin_transaction():
                context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
