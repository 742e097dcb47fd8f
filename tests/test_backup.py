"""Backups that restore (desk.backup): `flask desk backup` writes one archive with the database
and every stored file (attachments, survey photos, the logo) and a manifest; `flask desk
restore` puts it into an empty database and instance elsewhere and checks every table's row
count and every file's SHA-256. Here each backup is restored and the copy compared with the
original row by row and file by file; a damaged archive, a manifest that disagrees with what
was restored, a target that is not empty, a backup that fails or is killed half-way, a desk
writing while it is backed up. On SQLite and on PostgreSQL (a second database, made and
dropped by the `target` fixture)."""
from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import json
import os
import signal
import stat
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import insert, select

from desk import backup, create_app
from desk.attachments import service as attachments
from desk.beneficiaries.service import NewBeneficiary
from desk.extensions import db as _db
from desk.intake.service import IntakeData, create_ticket
from desk.models import Attachment, Channel, Kind, Site, Ticket, User
from desk.portal import profile
from desk.survey import service as survey
from desk.tickets.service import add_comment
from tests.conftest import Browser
from tests.images import image_bytes

ROOT = Path(__file__).resolve().parent.parent
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n" + bytes(range(256)) * 40
PNG = image_bytes("PNG", (60, 40), (1, 2, 3))
PHOTO = image_bytes("JPEG", (80, 60), (7, 7, 7))
LOGO = image_bytes("PNG", (30, 30), (200, 100, 0))
MAX = 10 * 1024 * 1024


def _folders(root: Path) -> dict[str, str]:
    return {"INSTANCE_PATH": str(root), "DESK_ATTACHMENT_DIR": str(root / "attachments"),
            "DESK_SURVEY_PHOTO_DIR": str(root / "survey-photos")}


@pytest.fixture
def source(app, db, people, make_ticket, tmp_path, monkeypatch) -> Path:
    """The desk under test with two tickets and their events (a note among them), two attachments
    written through desk.attachments, a survey photo, the association's logo and a training
    certificate, its stored
    files in a folder of this test's own. Returns that instance folder."""
    root = tmp_path / "source"
    for key, value in _folders(root).items():
        monkeypatch.setitem(app.config, key, value)
    first, second = make_ticket(), make_ticket(subject="طلب سداد إيجار")
    add_comment(db.session, people.staff, first, "اتصلت بالمستفيد وسأعاود الاتصال", public=False, expected_version=None)
    attachments.add(db.session, people.staff, first, attachments.Upload(io.BytesIO(PDF), "خطاب الجمعية.pdf"),
                    directory=app.config["DESK_ATTACHMENT_DIR"], max_bytes=MAX)
    attachments.add(db.session, people.staff, second, attachments.Upload(io.BytesIO(PNG), "صورة.png", "إيصال"),
                    directory=app.config["DESK_ATTACHMENT_DIR"], max_bytes=MAX)
    site = Site(name_ar="المقر الرئيسي", name_en="Main office", position=1, active=True)
    db.session.add(site)
    db.session.commit()
    opened = survey.open_survey(db.session, people.supervisor, site)
    survey.add_photo(db.session, people.supervisor, opened, survey.items(db.session)[0], io.BytesIO(PHOTO), "باب.jpg",
                     directory=app.config["DESK_SURVEY_PHOTO_DIR"], max_bytes=MAX)
    profile.save(db.session, people.admin, app.config, profile.ProfileData(name_ar="جمعية الخير", name_en="Al-Khair"),
                 logo=io.BytesIO(LOGO))
    from desk.files import training_dir
    from desk.training import service as training
    training.add_entry(db.session, people.supervisor, training.TrainingData(
        people.staff.id, "الإسعافات الأولية", "الهلال الأحمر", "2026-10-01", "gregorian", "4"), io.BytesIO(PDF),
        "شهادة.pdf", directory=training_dir(app.config), max_bytes=MAX)
    return root


@pytest.fixture
def target(app, tmp_path):
    """Another desk: a fresh instance folder and an empty database. On PostgreSQL the database
    DESK_TEST_RESTORE_DATABASE_URL names, else `<the tests' database>_restore`: made empty here
    and dropped at the end."""
    root = tmp_path / "target"
    with app.app_context():
        url = _db.engine.url
    server = None
    if url.get_backend_name() == "sqlite":
        other_url = f"sqlite:///{root / 'desk.db'}"
    else:
        wanted = os.environ.get("DESK_TEST_RESTORE_DATABASE_URL")
        other = sa.make_url(wanted) if wanted else url.set(database=f"{url.database}_restore")
        other_url = other.render_as_string(hide_password=False)
        server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        _recreate(server, other.database)
    desk = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": other_url, **_folders(root)})
    yield desk
    with desk.app_context():
        _db.session.remove()
        _db.engine.dispose()
    if server is not None:
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{other.database}" WITH (FORCE)'))
        server.dispose()


def _recreate(server, name: str) -> None:
    with server.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))


def run(app, *args: str):
    """`flask desk …` on ``app`` (its own app context, so the command cannot reach another desk's)."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["desk", *args])
        _db.session.remove()
    return result


def every_row(app) -> dict[str, list[str]]:
    """Every table of the desk's database and its rows (as text, sorted)."""
    with app.app_context(), _db.engine.connect() as conn:
        return {name: sorted(map(repr, conn.execute(sa.select(sa.text("*")).select_from(sa.table(name))).all()))
                for name in sa.inspect(conn).get_table_names()}


def every_file(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*"))
            if path.is_file() and path.parts[len(root.parts)] in ("attachments", "survey-photos", "branding",
                                                                  "training")}


def manifest_of(archive: Path) -> dict:
    with tarfile.open(archive) as tar:
        return json.load(tar.extractfile("manifest.json"))


def damage(archive: Path, member: str) -> None:
    """Change one byte in the middle of a member's content, in place."""
    with tarfile.open(archive) as tar:
        info = tar.getmember(member)
    with open(archive, "r+b") as f:
        f.seek(info.offset_data + info.size // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x01]))


def empty_database(desk) -> bool:
    with desk.app_context():
        if _db.engine.dialect.name == "sqlite" and not Path(_db.engine.url.database).exists():
            return True  # (connecting would make the file)
    with desk.app_context(), _db.engine.connect() as conn:
        return sa.inspect(conn).get_table_names() == []


# The round trip ------------------------------------------------------------------------------

def test_a_backup_restores_into_a_fresh_instance_and_an_empty_database(app, db, people, source, target, tmp_path):
    archive = tmp_path / "backups" / "desk.tar"
    archive.parent.mkdir()
    made = run(app, "backup", "--output", str(archive))
    assert made.exit_code == 0, made.output
    assert "5 files" in made.output
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600  # personal data
    assert os.listdir(archive.parent) == ["desk.tar"]   # nothing left beside it

    manifest = manifest_of(archive)
    assert manifest["dialect"] == db.engine.dialect.name
    assert manifest["alembic_revision"] == backup.code_revisions()[0]
    assert manifest["created_at"]
    assert manifest["row_counts"]["tickets"] == 2 and manifest["row_counts"]["attachments"] == 2
    assert manifest["row_counts"]["ticket_events"] == db.session.scalar(sa.text("SELECT count(*) FROM ticket_events"))
    stored = every_file(source)
    assert {f["path"]: (f["size"], f["sha256"]) for f in manifest["files"]} == {
        path: (len(data), hashlib.sha256(data).hexdigest()) for path, data in stored.items()}
    assert sorted(path.split("/")[0] for path in stored) == ["attachments", "attachments", "branding", "survey-photos",
                                                             "training"]
    assert manifest["missing_files"] == []

    restored = run(target, "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert "checked against its manifest" in restored.output and "db upgrade" not in restored.output

    original, copy = every_row(app), every_row(target)
    assert len(original) > 25 and set(copy) == set(original)
    for table in original:
        assert copy[table] == original[table], table
    assert every_file(Path(target.config["INSTANCE_PATH"])) == stored

    # The restored desk works: a document downloads, and a new ticket takes the next number.
    attachment = db.session.scalars(select(Attachment).where(Attachment.filename == "خطاب الجمعية.pdf")).one()
    browser = Browser(target.test_client()).login(people.staff)
    reference = db.session.get(Ticket, attachment.ticket_id).reference
    page = browser.get(f"/tickets/{reference}/attachments/{attachment.id}")
    assert page.status_code == 200 and page.data == PDF
    last = max(db.session.scalars(select(Ticket.id)))
    with target.test_request_context():
        staff = _db.session.scalar(select(User).where(User.email == people.staff.email))
        new = create_ticket(_db.session, staff, IntakeData(
            kind=Kind.INQUIRY, channel=Channel.PHONE, subject="سؤال بعد الاسترجاع", department_id=people.social.id,
            new_beneficiary=NewBeneficiary(name="سعاد", phone="+966511112222")))
        assert new.id == last + 1
        _db.session.remove()


def test_an_existing_output_is_kept_unless_overwrite_is_given(app, source, tmp_path):
    archive = tmp_path / "desk.tar"
    archive.write_bytes(b"yesterday's backup")
    refused = run(app, "backup", "--output", str(archive))
    assert refused.exit_code == 2 and "--overwrite" in refused.output
    assert archive.read_bytes() == b"yesterday's backup"
    replaced = run(app, "backup", "--output", str(archive), "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert backup.verify_archive(archive).row_counts["tickets"] == 2
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600


def test_one_backup_at_a_time_into_a_folder(app, source, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    assert run(app, "backup", "--output", str(tmp_path / "nowhere" / "desk.tar")).exit_code == 2
    held = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a backup running in another process holds it
        busy = run(app, "backup", "--output", str(folder / "desk.tar"))
        assert busy.exit_code == 1 and "Another backup is being written" in busy.output
    finally:
        os.close(held)
    assert os.listdir(folder) == []
    assert run(app, "backup", "--output", str(folder / "desk.tar")).exit_code == 0


# Damage and mismatches ---------------------------------------------------------------------

@pytest.mark.parametrize("member", ["a stored file", "the database"])
def test_a_damaged_archive_is_refused_before_anything_is_restored(app, source, target, tmp_path, member):
    archive = tmp_path / "desk.tar"
    assert run(app, "backup", "--output", str(archive)).exit_code == 0
    manifest = manifest_of(archive)
    name = "files/" + manifest["files"][0]["path"] if member == "a stored file" else manifest["database"]["member"]
    damage(archive, name)

    checked = run(app, "verify-backup", str(archive))
    assert checked.exit_code == 1 and f"{name}: its content differs from the manifest" in checked.output
    refused = run(target, "restore", str(archive))
    assert refused.exit_code == 1
    assert "does not match its manifest" in refused.output and "nothing was restored" in refused.output
    assert name in refused.output
    assert empty_database(target) and every_file(Path(target.config["INSTANCE_PATH"])) == {}


def test_a_truncated_archive_is_refused(app, source, target, tmp_path):
    archive = tmp_path / "desk.tar"
    assert run(app, "backup", "--output", str(archive)).exit_code == 0
    with open(archive, "r+b") as f:
        f.truncate(archive.stat().st_size // 2)
    refused = run(target, "restore", str(archive))
    assert refused.exit_code == 1 and "manifest" in refused.output
    assert empty_database(target)


def _rewrite_manifest(archive: Path, change) -> None:
    """The archive again with ``change(manifest)`` applied (members' hashes still right)."""
    rewritten = archive.with_suffix(".new")
    with tarfile.open(archive) as old, tarfile.open(rewritten, "w") as new:
        for info in old.getmembers():
            data = old.extractfile(info).read()
            if info.name == "manifest.json":
                manifest = json.loads(data)
                change(manifest)
                data = json.dumps(manifest).encode()
                info.size = len(data)
            new.addfile(info, io.BytesIO(data))
    rewritten.replace(archive)


def test_a_restore_whose_rows_differ_from_the_manifest_fails_naming_the_table(app, source, target, tmp_path):
    archive = tmp_path / "desk.tar"
    assert run(app, "backup", "--output", str(archive)).exit_code == 0
    _rewrite_manifest(archive, lambda m: m["row_counts"].update(tickets=m["row_counts"]["tickets"] + 1))
    failed = run(target, "restore", str(archive))
    assert failed.exit_code == 1
    assert "differs from the backup's manifest" in failed.output
    assert "table tickets: 2 rows, the manifest says 3" in failed.output


def test_a_file_restored_wrong_fails_the_verification(app, source, target, tmp_path, monkeypatch):
    """A disk that changes a byte as the file is written: the check reads the files back."""
    archive = tmp_path / "desk.tar"
    assert run(app, "backup", "--output", str(archive)).exit_code == 0
    restore_files = backup._restore_files

    def faulty_disk(tar, manifest, areas):
        restore_files(tar, manifest, areas)
        logo = next(Path(target.config["INSTANCE_PATH"]).glob("branding/*"))
        logo.write_bytes(logo.read_bytes()[:-1] + b"!")

    monkeypatch.setattr(backup, "_restore_files", faulty_disk)
    failed = run(target, "restore", str(archive))
    assert failed.exit_code == 1
    assert "branding/" in failed.output and "differs from the manifest (size or SHA-256)" in failed.output


# A target that is not empty ------------------------------------------------------------------

def test_a_target_that_is_not_empty_is_refused_unless_forced(app, source, target, tmp_path):
    archive = tmp_path / "desk.tar"
    assert run(app, "backup", "--output", str(archive)).exit_code == 0
    assert run(target, "restore", str(archive)).exit_code == 0
    # The restored desk moves on: a new site, a stray file (and on PostgreSQL a type and a function).
    with target.app_context():
        _db.session.add(Site(name_ar="فرع الشمال", name_en="North branch", position=2, active=True))
        postgres = _db.engine.dialect.name == "postgresql"
        if postgres:
            _db.session.execute(sa.text("CREATE TYPE mood AS ENUM ('calm', 'busy')"))
            _db.session.execute(sa.text("CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS 'SELECT 42'"))
        _db.session.commit()
        _db.session.remove()
    stray = Path(target.config["DESK_ATTACHMENT_DIR"]) / "stray"
    stray.write_bytes(b"not in the backup")

    refused = run(target, "restore", str(archive))
    assert refused.exit_code == 2
    assert "database: The database" in refused.output and "is not empty" in refused.output
    assert "already holds 3 files" in refused.output and "--force" in refused.output
    assert stray.exists() and len(every_row(target)["sites"]) == 2  # nothing touched

    forced = run(target, "restore", "--force", str(archive))
    assert forced.exit_code == 0, forced.output
    assert not stray.exists()
    if postgres:
        with target.app_context(), _db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT to_regtype('mood')")) is None
            assert conn.scalar(sa.text("SELECT to_regprocedure('answer()')")) is None
            assert conn.scalar(sa.text("SELECT similarity('مساعدة', 'مساعدات')")) > 0  # pg_trgm is still there
    assert every_row(target) == every_row(app)
    assert every_file(Path(target.config["INSTANCE_PATH"])) == every_file(source)


def test_files_alone_make_a_target_not_empty(app, source, target, tmp_path):
    archive = tmp_path / "desk.tar"
    assert run(app, "backup", "--output", str(archive)).exit_code == 0
    photos = Path(target.config["DESK_SURVEY_PHOTO_DIR"])
    photos.mkdir(parents=True)
    (photos / "left-over").write_bytes(b"x")
    refused = run(target, "restore", str(archive))
    assert refused.exit_code == 2 and f"files: {photos} already holds 1 file." in refused.output
    assert empty_database(target)


# A backup that does not finish ----------------------------------------------------------------

def test_a_backup_failing_half_way_leaves_nothing(app, source, tmp_path, monkeypatch):
    folder = tmp_path / "backups"
    folder.mkdir()
    calls = []
    addfile = tarfile.TarFile.addfile

    def disk_fills_up(self, *args, **kwargs):
        calls.append(args[0].name)
        if len(calls) == 3:  # the database and one file are in
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return addfile(self, *args, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "addfile", disk_fills_up)
    failed = run(app, "backup", "--output", str(folder / "desk.tar"))
    assert failed.exit_code == 1 and "No space left on device" in failed.output
    assert len(calls) == 3
    assert os.listdir(folder) == []  # no archive, no part of one, no copy of the database


KILLED_HALF_WAY = """
import os, signal, sys, tarfile
from desk import create_app

calls = []
addfile = tarfile.TarFile.addfile

def killed(self, *args, **kwargs):
    calls.append(1)
    if len(calls) == 3:  # the database and one file are in
        os.kill(os.getpid(), signal.SIGKILL)
    return addfile(self, *args, **kwargs)

tarfile.TarFile.addfile = killed
app = create_app()
with app.app_context():
    result = app.test_cli_runner().invoke(args=["desk", "backup", "--output", sys.argv[1]])
print(result.output)
"""


def test_a_killed_backup_leaves_no_archive_and_the_next_one_clears_its_leftovers(app, source, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    output = folder / "desk.tar"
    env = os.environ | {"DESK_INSTANCE_PATH": str(source), "DESK_ATTACHMENT_DIR": str(source / "attachments"),
                        "DESK_SURVEY_PHOTO_DIR": str(source / "survey-photos")}
    killed = subprocess.run([sys.executable, "-c", KILLED_HALF_WAY, str(output)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert not output.exists()
    leftovers = os.listdir(folder)
    assert leftovers and all(name.startswith(".desk-backup-") for name in leftovers)  # hidden, never the name

    again = run(app, "backup", "--output", str(output))
    assert again.exit_code == 0, again.output
    assert os.listdir(folder) == ["desk.tar"]
    assert len(backup.verify_archive(output).files) == 5


# While the desk works ------------------------------------------------------------------------

def test_a_backup_while_the_desk_writes_is_one_consistent_moment(app, source, target, tmp_path):
    """Rows committed during the backup are either all in the dump and its counts, or not at all:
    the restore checks the counts against the restored database."""
    stop, started = threading.Event(), threading.Event()
    written = []

    def desk_at_work():
        with app.app_context():
            n = 0
            while not stop.is_set():
                n += 1
                with _db.engine.begin() as conn:
                    conn.execute(insert(Site.__table__).values(name_ar=f"موقع {n}", name_en=f"Site {n}", position=n,
                                                               active=True))
                written.append(n)
                started.set()

    writer = threading.Thread(target=desk_at_work)
    writer.start()
    try:
        assert started.wait(timeout=60)
        archive = tmp_path / "desk.tar"
        made = run(app, "backup", "--output", str(archive))
    finally:
        stop.set()
        writer.join(timeout=60)
    assert made.exit_code == 0, made.output
    restored = run(target, "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert manifest_of(archive)["row_counts"]["sites"] == len(every_row(target)["sites"]) >= 2


# Missing files and PostgreSQL's tools --------------------------------------------------------

def test_a_stored_file_missing_from_disk_is_reported(app, db, source, tmp_path):
    attachment = db.session.scalars(select(Attachment).order_by(Attachment.id)).first()
    (Path(app.config["DESK_ATTACHMENT_DIR"]) / attachment.stored_name).unlink()
    made = run(app, "backup", "--output", str(tmp_path / "desk.tar"))
    assert made.exit_code == 0
    assert "Warning: 1 stored files named by the database were not on disk" in made.output
    assert f"attachments/{attachment.stored_name}" in made.output
    assert manifest_of(tmp_path / "desk.tar")["missing_files"] == [f"attachments/{attachment.stored_name}"]


def test_the_attachment_folder_may_not_be_the_instance(app, source, tmp_path, monkeypatch):
    """--force empties the stored-file folders: one set to the instance would take the rest with it."""
    monkeypatch.setitem(app.config, "DESK_ATTACHMENT_DIR", str(source))
    refused = run(app, "backup", "--output", str(tmp_path / "desk.tar"))
    assert refused.exit_code == 1 and "give each kind of stored file a folder of its own" in refused.output


def _fake_tool(folder: Path, name: str, version: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tool = folder / name
    tool.write_text(f"#!/bin/sh\necho '{name} (PostgreSQL) {version}'\n")
    tool.chmod(0o755)
    return tool


def test_pg_tools_must_be_of_the_servers_major_version(tmp_path):
    fake = _fake_tool(tmp_path / "bin", "pg_dump", "99.2")
    assert backup.find_pg_tool("pg_dump", "99", {"DESK_PG_BIN_DIR": str(fake.parent)}) == fake
    with pytest.raises(backup.BackupError) as refused:
        backup.find_pg_tool("pg_dump", "98", {"DESK_PG_BIN_DIR": str(fake.parent)})
    assert "postgresql-client-98" in str(refused.value) and f"{fake} is version 99" in str(refused.value)


def test_the_password_goes_in_the_environment_only():
    url = sa.make_url("postgresql+psycopg://desk:s3cret@db.internal:5433/desk?sslmode=require")
    env = backup.pg_environment(url, {"PATH": "/usr/bin", "PGPASSWORD": "someone else's", "PGSERVICE": "other"})
    assert env == {"PATH": "/usr/bin", "PGHOST": "db.internal", "PGPORT": "5433", "PGUSER": "desk",
                   "PGPASSWORD": "s3cret", "PGDATABASE": "desk", "PGSSLMODE": "require"}
    with pytest.raises(backup.BackupError, match="'prepare_threshold'"):
        backup.pg_environment(sa.make_url("postgresql+psycopg://desk@db/desk?prepare_threshold=0"), {})


def test_pg_restore_as_the_desks_own_role_where_a_superuser_made_the_extension(app, source, tmp_path):
    """The usual production set-up: the desk's role owns its database but is no superuser, and
    a superuser created pg_trgm there beforehand."""
    with app.app_context():
        url = _db.engine.url
    if url.get_backend_name() != "postgresql":
        pytest.skip("PostgreSQL's roles and extensions")
    archive = tmp_path / "desk.tar"
    assert run(app, "backup", "--output", str(archive)).exit_code == 0
    role, name = f"{url.database}_owner", f"{url.database}_owned"
    server = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        conn.execute(sa.text(f'CREATE ROLE "{role}" LOGIN NOSUPERUSER'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}" OWNER "{role}"'))
    with sa.create_engine(url.set(database=name), isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(sa.text("CREATE EXTENSION pg_trgm"))  # owned by the superuser
    owned = url.set(database=name, username=role, password=None)
    desk = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": owned.render_as_string(hide_password=False),
                       **_folders(tmp_path / "owned")})
    try:
        restored = run(desk, "restore", str(archive))
        assert restored.exit_code == 0, restored.output
        assert every_row(desk) == every_row(app)
    finally:
        with desk.app_context():
            _db.engine.dispose()
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{role}"'))
        server.dispose()


def test_a_restore_into_the_other_kind_of_database_is_refused(app, source, target, tmp_path):
    archive = tmp_path / "desk.tar"
    assert run(app, "backup", "--output", str(archive)).exit_code == 0
    other = "postgresql" if manifest_of(archive)["dialect"] == "sqlite" else "sqlite"
    _rewrite_manifest(archive, lambda m: m.update(dialect=other))
    refused = run(target, "restore", str(archive))
    assert refused.exit_code == 1 and f"The backup is of a {other} database" in refused.output
    assert empty_database(target)

