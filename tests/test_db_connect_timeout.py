"""A database host that swallows packets instead of refusing them: the desk's engine gives up
after DESK_DB_CONNECT_TIMEOUT seconds (an OperationalError, which the outage pages answer),
instead of hanging the request and the worker behind it."""
from __future__ import annotations

import socket
import threading

import pytest
import sqlalchemy as sa

from desk import settings


def test_the_postgresql_engine_has_a_connect_timeout_and_a_typo_is_refused(tmp_path):
    env = {"DESK_ENV": "testing", "DESK_INSTANCE_PATH": str(tmp_path),
           "DESK_DATABASE_URL": "postgresql+psycopg://desk@db.internal/desk"}
    assert settings.load(env)["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 5}
    env["DESK_DB_CONNECT_TIMEOUT"] = "12"
    assert settings.load(env)["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"connect_timeout": 12}
    env["DESK_DB_CONNECT_TIMEOUT"] = "0"
    with pytest.raises(settings.SettingsError):
        settings.load(env)
    sqlite = settings.load({"DESK_ENV": "testing", "DESK_INSTANCE_PATH": str(tmp_path)})
    assert "connect_args" not in sqlite["SQLALCHEMY_ENGINE_OPTIONS"]  # sqlite3 would refuse the keyword


def test_an_app_given_another_database_gets_that_databases_options(tmp_path, monkeypatch):
    """The environment names PostgreSQL, the app's config SQLite (as some tests and tools do):
    the engine options follow the database the app ends up with."""
    from desk import create_app

    monkeypatch.setenv("DESK_DATABASE_URL", "postgresql+psycopg://desk@127.0.0.1:9/desk")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'other.db'}"})
    assert "connect_args" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True


def test_a_host_that_never_answers_fails_the_connection_instead_of_hanging(tmp_path):
    """For real: a listening socket on loopback that accepts and never says a word."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    env = {"DESK_ENV": "testing", "DESK_INSTANCE_PATH": str(tmp_path), "DESK_DB_CONNECT_TIMEOUT": "2",
           "DESK_DATABASE_URL": f"postgresql+psycopg://desk@127.0.0.1:{port}/desk"}
    config = settings.load(env)
    engine = sa.create_engine(config["SQLALCHEMY_DATABASE_URI"], **config["SQLALCHEMY_ENGINE_OPTIONS"])
    outcome: list[BaseException] = []

    def connect() -> None:
        try:
            with engine.connect():
                pass
        except BaseException as error:
            outcome.append(error)

    worker = threading.Thread(target=connect, daemon=True)
    worker.start()
    worker.join(timeout=120)  # a generous bound: without the timeout it would wait forever
    try:
        assert not worker.is_alive(), "the connection attempt hung"
        assert len(outcome) == 1 and isinstance(outcome[0], sa.exc.OperationalError)
    finally:
        engine.dispose()
        silent.close()
