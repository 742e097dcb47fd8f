"""Backups that restore: ``flask desk backup``, ``flask desk restore``, ``flask desk verify-backup``.

One archive (a plain tar, so ``tar tf`` lists it) holds the whole desk:

- ``database/desk.sqlite3.gz``: a copy of the SQLite database made by SQLite's online backup API
  (one consistent read; in WAL mode the desk keeps writing meanwhile), gzip-compressed; or
  ``database/desk.pgdump``: ``pg_dump --format=custom`` of the PostgreSQL database, taken in an
  exported snapshot, so that the row counts of the manifest are those of the dump;
- ``files/<area>/<name>``: every file of the folders where the desk stores files (attachments,
  survey photos, the association's logo: ``stored_file_areas``);
- ``manifest.json``, last: when, the desk's Alembic revision, the dialect, the row count of every
  table, and the size and SHA-256 of the database member and of every file.

The archive is written under a temporary name beside the output and renamed when complete,
so a failed or killed backup never leaves something that looks like a backup; it is created
with mode 0600 (it holds personal data) and never replaces a file unless asked to.

A restore first checks the whole archive against its manifest (a damaged copy is refused
before anything is touched), refuses a database or stored-file folder that is not empty unless
forced (then empties them), puts the database in place (pg_restore in one transaction; the
SQLite file renamed into place), writes the files, then reads everything back and compares it
with the manifest: any difference fails the restore, naming what differs.

PostgreSQL's tools must be of the server's major version (``find_pg_tool``); the password goes
to them in PGPASSWORD, never on the command line.
"""
from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.orm import Session

from desk.errors import ValidationFailed
from desk.files import branding_dir, kb_dir, survey_photo_dir, training_dir
from desk.models import utcnow
from desk.settings import PROJECT_ROOT
from desk.transaction import commit, discard

FORMAT = "desk-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/desk.sqlite3.gz"
POSTGRES_MEMBER = "database/desk.pgdump"
FILES = "files/"
CHUNK = 1024 * 1024
TEMP_PREFIX = ".desk-backup-"      # the archive being written (…part) and its work folder (…work)
PG_LOCK_WAIT = "120s"              # pg_dump gives up rather than queue behind a migration forever


class BackupError(RuntimeError):
    """A backup or restore that could not be made: the message says why."""


class VerificationFailed(BackupError):
    """The archive, or what was restored from it, differs from the manifest."""

    def __init__(self, what: str, problems: list[str]):
        shown = problems[:20] + ([f"… and {len(problems) - 20} more"] if len(problems) > 20 else [])
        super().__init__(f"{what}:\n" + "\n".join(f"  - {p}" for p in shown))
        self.problems = problems


# Where the desk stores files -----------------------------------------------------------------

@dataclass(frozen=True)
class Area:
    """A folder of stored files, and the column of the rows that name them."""

    name: str
    directory: Path
    table: str
    column: str


def stored_file_areas(config: Mapping[str, Any]) -> list[Area]:
    """Every folder the desk writes files to (settings.py, desk.portal.profile): add a new one here."""
    return [
        Area("attachments", Path(config["DESK_ATTACHMENT_DIR"]), "attachments", "stored_name"),
        Area("survey-photos", survey_photo_dir(config), "survey_photos", "stored_name"),
        Area("branding", branding_dir(config), "association", "logo_stored_name"),
        Area("knowledge-base", kb_dir(config), "kb_documents", "stored_name"),
        Area("training", training_dir(config), "training_entries", "certificate_stored_name"),
    ]


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_areas(areas: list[Area], config: Mapping[str, Any], sqlite_path: Path | None) -> None:
    """Each area a folder of its own: emptying or archiving one must never reach the instance
    itself, the database or another area (a DESK_ATTACHMENT_DIR set to the instance, say)."""
    instance = Path(config["INSTANCE_PATH"]).resolve()
    resolved = [(area, area.directory.resolve()) for area in areas]
    for area, folder in resolved:
        clashes = [f"the instance folder {instance}"] if _inside(instance, folder) else []
        if sqlite_path is not None and _inside(sqlite_path.resolve(), folder):
            clashes.append(f"the database {sqlite_path}")
        clashes += [f"the {other.name} folder {path}" for other, path in resolved
                    if other is not area and (_inside(path, folder) or _inside(folder, path))]
        if clashes:
            raise BackupError(f"The {area.name} folder {folder} also holds {', '.join(clashes)}: give each kind of "
                              "stored file a folder of its own (DESK_ATTACHMENT_DIR, DESK_SURVEY_PHOTO_DIR).")


def _files_in(folder: Path) -> Iterator[Path]:
    """The regular files under ``folder``, in a stable order (symbolic links are not followed)."""
    if not folder.is_dir():
        return
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            if stat.S_ISREG(path.lstat().st_mode):
                yield path


# The manifest --------------------------------------------------------------------------------

@dataclass
class Manifest:
    created_at: str
    alembic_revision: str | None
    dialect: str
    database: dict[str, Any]                  # member, size, sha256, and the versions that made it
    row_counts: dict[str, int]
    files: list[dict[str, Any]]               # path ("<area>/<name>"), size, sha256
    missing_files: list[str] = field(default_factory=list)  # named by a row, not on disk at backup

    def to_json(self) -> bytes:
        return json.dumps({
            "format": FORMAT, "version": FORMAT_VERSION, "created_at": self.created_at,
            "alembic_revision": self.alembic_revision, "dialect": self.dialect, "database": self.database,
            "row_counts": self.row_counts, "files": self.files, "missing_files": self.missing_files,
        }, indent=1, ensure_ascii=False, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise ValueError("not a desk backup's manifest")
            if data.get("version") != FORMAT_VERSION:
                raise ValueError(f"format version {data.get('version')}; this desk reads version {FORMAT_VERSION}")
            manifest = cls(str(data["created_at"]), data["alembic_revision"], str(data["dialect"]),
                           dict(data["database"]), {str(k): int(v) for k, v in data["row_counts"].items()},
                           [{"path": str(f["path"]), "size": int(f["size"]), "sha256": str(f["sha256"])}
                            for f in data["files"]], [str(p) for p in data.get("missing_files", [])])
            for key in ("member", "size", "sha256"):
                if key not in manifest.database:
                    raise ValueError(f"the database entry has no {key}")
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BackupError(f"The archive's manifest cannot be read: {error}.") from None
        return manifest

    @property
    def rows(self) -> int:
        return sum(self.row_counts.values())

    def members(self) -> dict[str, tuple[int, str]]:
        """Every member the archive must hold besides the manifest: name → (size, SHA-256)."""
        found = {str(self.database["member"]): (int(self.database["size"]), str(self.database["sha256"]))}
        found.update({FILES + f["path"]: (f["size"], f["sha256"]) for f in self.files})
        return found


class _Hashing:
    """A readable stream that hashes (and counts) what is read through it."""

    def __init__(self, stream: IO[bytes]):
        self.stream, self.digest, self.size = stream, hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        chunk = self.stream.read(n)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


def sha256_of(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


# Row counts and what the rows name -----------------------------------------------------------

def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    return [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")]


def sqlite_row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {name: conn.execute(f"SELECT count(*) FROM {_quote(name)}").fetchone()[0]  # noqa: S608 - names from the catalog, quoted
            for name in _sqlite_tables(conn)}


# (pg_depend's deptype 'e': a member of an extension, e.g. pg_trgm's functions; those stay)
_PG_RELATIONS = sa.text("""
    SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype = 'e')
    ORDER BY c.relname""")
_PG_TYPES = sa.text("""
    SELECT t.typname, t.typtype FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd', 'r', 'c')
      AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                      AND d.deptype = 'e')""")
_PG_ROUTINES = sa.text("""
    SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = current_schema()
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                      AND d.deptype = 'e')""")


def _pg_relations(conn: Connection | Session) -> list[tuple[str, str]]:
    """The schema's tables, views and sequences (not an extension's), with their kind."""
    return [(name, kind) for name, kind in conn.execute(_PG_RELATIONS)]


def pg_row_counts(conn: Connection) -> dict[str, int]:
    tables = [name for name, kind in _pg_relations(conn) if kind in ("r", "p")]
    return {name: conn.execute(sa.text(f"SELECT count(*) FROM {_quote(name)}")).scalar_one()  # noqa: S608 - names from the catalog, quoted
            for name in tables}


def _referenced(execute: Callable[[str], list[Any]], areas: list[Area], tables: set[str]) -> set[str]:
    """``<area>/<name>`` of every stored file a row names."""
    named = set()
    for area in areas:
        if area.table in tables:
            sql = f"SELECT {_quote(area.column)} FROM {_quote(area.table)} WHERE {_quote(area.column)} IS NOT NULL"  # noqa: S608 - our own names
            named |= {f"{area.name}/{value}" for value in execute(sql)}
    return named


# PostgreSQL's tools --------------------------------------------------------------------------

# URL query parameters psycopg takes that the command-line tools take from the environment.
LIBPQ_ENVIRONMENT = {
    "host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD",
    "dbname": "PGDATABASE", "passfile": "PGPASSFILE", "service": "PGSERVICE", "options": "PGOPTIONS",
    "application_name": "PGAPPNAME", "connect_timeout": "PGCONNECT_TIMEOUT", "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "sslcrl": "PGSSLCRL",
    "sslpassword": "PGSSLPASSWORD", "gssencmode": "PGGSSENCMODE", "channel_binding": "PGCHANNELBINDING",
    "target_session_attrs": "PGTARGETSESSIONATTRS", "krbsrvname": "PGKRBSRVNAME",
}


def pg_environment(url: URL, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for pg_dump and pg_restore to reach the database of ``url``: the
    process's own without any PG* variable it happened to carry, plus the URL's parts
    (the password as PGPASSWORD, so it never shows on a command line)."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if not k.startswith("PG")}
    for key, value in url.query.items():
        if key not in LIBPQ_ENVIRONMENT:
            raise BackupError(f"DESK_DATABASE_URL has the parameter {key!r}, which pg_dump and pg_restore cannot "
                              "be given: remove it, or set it in the server's configuration instead.")
        env[LIBPQ_ENVIRONMENT[key]] = value if isinstance(value, str) else value[-1]
    for name, part in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if part:
            env[name] = str(part)
    return env


def _conninfo_dbname(name: str) -> str:
    """``dbname='…'`` for --dbname: a plain name with ``=`` in it would be read as a connection string."""
    return "dbname='" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def server_major(conn: Connection | Session) -> str:
    number = int(conn.execute(sa.text("SHOW server_version_num")).scalar_one())
    return str(number // 10000) if number >= 100000 else f"{number // 10000}.{number // 100 % 100}"


_TOOL_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


def tool_major(tool: Path) -> str | None:
    """The major version a PostgreSQL tool says it is (``pg_dump --version``), None if it cannot say."""
    try:
        done = subprocess.run([str(tool), "--version"], capture_output=True, text=True, timeout=30,  # noqa: S603 - a path we chose, no shell
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    found = _TOOL_VERSION.search(done.stdout)
    if done.returncode != 0 or found is None:
        return None
    major, minor = found.groups()
    return major if int(major) >= 10 else f"{major}.{minor or 0}"


def find_pg_tool(name: str, major: str, config: Mapping[str, Any]) -> Path:
    """pg_dump or pg_restore of the server's major version: a newer pg_dump writes archives an
    older pg_restore cannot read, an older one refuses a newer server. Looked for in
    DESK_PG_BIN_DIR, where Debian/Ubuntu, the PGDG RPMs and Homebrew put each version, then PATH."""
    folders = [config.get("DESK_PG_BIN_DIR") or "", f"/usr/lib/postgresql/{major}/bin", f"/usr/pgsql-{major}/bin",
               f"/opt/homebrew/opt/postgresql@{major}/bin", f"/usr/local/opt/postgresql@{major}/bin"]
    candidates = [Path(folder) / name for folder in folders if folder]
    on_path = shutil.which(name)
    if on_path:
        candidates.append(Path(on_path))
    seen = []
    for candidate in candidates:
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        version = tool_major(candidate)
        if version == major:
            return candidate
        seen.append(f"{candidate} is version {version or 'unknown'}")
    found = f" ({'; '.join(seen)})" if seen else ""
    raise BackupError(
        f"No {name} of PostgreSQL {major}, the server's version, was found{found}. Install the package "
        f"postgresql-client-{major} (Debian and Ubuntu; from apt.postgresql.org when the distribution ships another "
        "version), or set DESK_PG_BIN_DIR to the folder that holds it.")


def _run(args: list[str], env: dict[str, str], what: str) -> str:
    """Run a PostgreSQL tool; its standard output, or BackupError with what it said."""
    try:
        done = subprocess.run(args, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,  # noqa: S603 - no shell
                              check=False)
    except OSError as error:
        raise BackupError(f"{what} could not be started: {error}.") from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()
        raise BackupError(f"{what} failed (exit {done.returncode}): {output}")
    return done.stdout


# Backup --------------------------------------------------------------------------------------

@dataclass
class Snapshot:
    """The database as archived: its file, and what was read from the same consistent state."""

    path: Path
    member: str
    dialect: str
    revision: str | None
    row_counts: dict[str, int]
    referenced: set[str]
    versions: dict[str, str]


@dataclass
class BackupResult:
    path: Path
    size: int
    manifest: Manifest


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
        raise BackupError("The database is in memory: there is nothing on disk to back up or restore into.")
    return Path(url.database)


def _revision(rows: list[Any]) -> str | None:
    return ",".join(sorted(str(r) for r in rows)) or None


def _sqlite_snapshot(url: URL, areas: list[Area], work: Path) -> Snapshot:
    source_path = _sqlite_path(url)
    if not source_path.is_file():  # (connecting would create an empty one)
        raise BackupError(f"There is no SQLite database at {source_path}.")
    copy = work / "desk.sqlite3"
    try:
        with closing(sqlite3.connect(source_path, timeout=60)) as source, closing(sqlite3.connect(copy)) as target:
            # One step (pages=-1): one read transaction, so the copy is one consistent state; in WAL
            # mode the desk's writers are not blocked meanwhile.
            source.backup(target)
        with closing(sqlite3.connect(copy)) as conn:
            check = [row[0] for row in conn.execute("PRAGMA quick_check")]
            if check != ["ok"]:
                raise BackupError(f"The database at {source_path} is damaged (PRAGMA quick_check): {'; '.join(check[:5])}")
            conn.execute("PRAGMA journal_mode=DELETE")  # the copy stands alone, nothing in a -wal beside it
            counts = sqlite_row_counts(conn)
            revision = (_revision([r for (r,) in conn.execute("SELECT version_num FROM alembic_version")])
                        if "alembic_version" in counts else None)
            referenced = _referenced(lambda sql: [v for (v,) in conn.execute(sql)], areas, set(counts))
    except sqlite3.Error as error:
        raise BackupError(f"The SQLite database at {source_path} could not be copied: {error}.") from None
    packed = work / "desk.sqlite3.gz"
    with open(copy, "rb") as raw, gzip.open(packed, "wb", compresslevel=6) as out:
        shutil.copyfileobj(raw, out, CHUNK)
    copy.unlink()
    return Snapshot(packed, SQLITE_MEMBER, "sqlite", revision, counts, referenced,
                    {"sqlite_version": sqlite3.sqlite_version})


def _postgres_snapshot(engine: Engine, config: Mapping[str, Any], areas: list[Area], work: Path) -> Snapshot:
    env = pg_environment(engine.url)
    dump = work / "desk.pgdump"
    # A repeatable-read transaction whose snapshot pg_dump shares (--snapshot): the row counts
    # and the dump are the same moment. Read-only; it ends (rolled back) when the dump is done.
    with engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True) as conn:
        major = server_major(conn)
        version = str(conn.execute(sa.text("SHOW server_version")).scalar_one())
        tool = find_pg_tool("pg_dump", major, config)
        snapshot = str(conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one())
        counts = pg_row_counts(conn)
        revision = (_revision(list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()))
                    if "alembic_version" in counts else None)
        referenced = _referenced(lambda sql: list(conn.execute(sa.text(sql)).scalars()), areas, set(counts))
        _run([str(tool), "--format=custom", "--no-password", f"--snapshot={snapshot}",
              f"--lock-wait-timeout={PG_LOCK_WAIT}", f"--file={dump}"], env, "pg_dump")
    return Snapshot(dump, POSTGRES_MEMBER, "postgresql", revision, counts, referenced,
                    {"server_version": version, "server_major": major, "pg_dump": f"{tool} (PostgreSQL {major})"})


def _add_file(tar: tarfile.TarFile, path: Path, name: str) -> tuple[int, str]:
    """Add ``path`` as ``name``, hashing the bytes as they go in."""
    with open(path, "rb") as f:
        info = tarfile.TarInfo(name)
        st = os.fstat(f.fileno())
        info.size, info.mtime, info.mode = st.st_size, int(st.st_mtime), 0o600
        reader = _Hashing(f)
        tar.addfile(info, reader)
    return info.size, reader.digest.hexdigest()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(utcnow().timestamp()), 0o600
    tar.addfile(info, io.BytesIO(data))


@contextmanager
def _backup_folder(folder: Path) -> Iterator[None]:
    """One backup at a time into ``folder`` (a lock on the folder itself); under the lock the
    leftovers of a backup that was killed (its …part and …work) are removed."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(f"Another backup is being written into {folder}; try again when it has finished.") from None
        for stale in folder.glob(TEMP_PREFIX + "*"):
            if stale.name.endswith(".work") and stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)
            elif stale.name.endswith(".part") and stale.is_file():
                stale.unlink(missing_ok=True)
        yield
    finally:
        os.close(fd)  # (releases the lock)


def _exists_refusal(output: Path) -> ValidationFailed:
    return ValidationFailed({"output": [f"{output} already exists: choose another name, or give --overwrite "
                                        "to replace it."]})


def _publish(part: Path, output: Path, overwrite: bool) -> None:
    """Give the complete archive its name. Without ``overwrite`` a link, which fails if the name
    was taken meanwhile (a rename would silently replace it)."""
    if overwrite:
        os.replace(part, output)
    else:
        try:
            os.link(part, output)
        except FileExistsError:
            raise _exists_refusal(output) from None
        except OSError:  # no hard links on this file system (some network shares): check, then rename
            if output.exists():
                raise _exists_refusal(output) from None
            os.replace(part, output)
        else:
            part.unlink()
    fd = os.open(output.parent, os.O_RDONLY)
    try:
        os.fsync(fd)  # the new name is on disk too
    finally:
        os.close(fd)


def backup(session: Session, config: Mapping[str, Any], output: str | os.PathLike, *,
           overwrite: bool = False) -> BackupResult:
    """Write the archive of the whole desk to ``output`` (see the module's docstring).

    Refused (ValidationFailed on "output"): an existing file without ``overwrite``, a folder that
    does not exist. BackupError: the database cannot be read or dumped, a file cannot be read, the
    disk is full…; then nothing is left at ``output`` (nor beside it)."""
    output = Path(output).absolute()
    if output.exists() and not overwrite:
        raise _exists_refusal(output)
    if output.is_dir():
        raise ValidationFailed({"output": [f"{output} is a folder: give the archive's file name."]})
    if not output.parent.is_dir():
        raise ValidationFailed({"output": [f"There is no folder {output.parent}."]})
    engine = session.get_bind().engine
    areas = stored_file_areas(config)
    sqlite_path = _sqlite_path(engine.url) if engine.dialect.name == "sqlite" else None
    _check_areas(areas, config, sqlite_path)
    with _backup_folder(output.parent):
        fd, name = tempfile.mkstemp(dir=output.parent, prefix=TEMP_PREFIX, suffix=".part")  # mode 0600
        part = Path(name)
        try:
            with os.fdopen(fd, "wb") as raw:
                with tempfile.TemporaryDirectory(dir=output.parent, prefix=TEMP_PREFIX, suffix=".work") as work:
                    if engine.dialect.name == "sqlite":
                        snapshot = _sqlite_snapshot(engine.url, areas, Path(work))
                    elif engine.dialect.name == "postgresql":
                        snapshot = _postgres_snapshot(engine, config, areas, Path(work))
                    else:
                        raise BackupError(f"Backups of a {engine.dialect.name} database are not supported.")
                    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
                        size, sha256 = _add_file(tar, snapshot.path, snapshot.member)
                        snapshot.path.unlink()
                        files = []
                        for area in areas:
                            for path in _files_in(area.directory):
                                relative = f"{area.name}/{path.relative_to(area.directory).as_posix()}"
                                try:
                                    file_size, file_sha256 = _add_file(tar, path, FILES + relative)
                                except FileNotFoundError:  # removed since the folder was read (a replaced logo)
                                    continue
                                files.append({"path": relative, "size": file_size, "sha256": file_sha256})
                        archived = {f["path"] for f in files}
                        manifest = Manifest(
                            created_at=utcnow().isoformat(timespec="seconds"), alembic_revision=snapshot.revision,
                            dialect=snapshot.dialect,
                            database={"member": snapshot.member, "size": size, "sha256": sha256, **snapshot.versions},
                            row_counts=snapshot.row_counts, files=files,
                            missing_files=sorted(snapshot.referenced - archived))
                        _add_bytes(tar, MANIFEST, manifest.to_json())
                raw.flush()
                os.fsync(raw.fileno())
            _publish(part, output, overwrite)
        except OSError as error:
            part.unlink(missing_ok=True)
            raise BackupError(f"The backup could not be written: {error}.") from None
        except BaseException:
            part.unlink(missing_ok=True)
            raise
    return BackupResult(output, output.stat().st_size, manifest)


# Verify --------------------------------------------------------------------------------------

@contextmanager
def _open_archive(archive: Path) -> Iterator[tarfile.TarFile]:
    try:
        tar = tarfile.open(archive, mode="r:")
    except (tarfile.TarError, OSError) as error:
        raise BackupError(f"{archive} is not a desk backup (not a tar archive: {error}).") from None
    with tar:
        yield tar


def _read_manifest(tar: tarfile.TarFile, archive: Path) -> Manifest:
    try:
        member = tar.getmember(MANIFEST)
        stream = tar.extractfile(member)
    except (KeyError, tarfile.TarError, OSError):
        raise BackupError(f"{archive} has no manifest ({MANIFEST}): it is not a complete desk backup.") from None
    if stream is None:
        raise BackupError(f"{archive}: {MANIFEST} is not a file.")
    return Manifest.from_json(stream.read())


def verify_archive(archive: str | os.PathLike, consequence: str = "") -> Manifest:
    """Read every member of the archive and compare it with the manifest: sizes, SHA-256, none
    missing, none added. VerificationFailed names each difference (after ``consequence``, what
    the caller did not do because of it); BackupError: not a backup at all."""
    archive = Path(archive)
    with _open_archive(archive) as tar:
        manifest = _read_manifest(tar, archive)
        expected = manifest.members()
        problems, seen = [], set()
        try:
            for member in tar.getmembers():
                if member.name == MANIFEST:
                    continue
                if member.name not in expected or not member.isfile():
                    problems.append(f"{member.name}: in the archive but not in the manifest")
                    continue
                seen.add(member.name)
                reader = _Hashing(_extract(tar, member))
                while reader.read(CHUNK):
                    pass
                size, sha256 = expected[member.name]
                if (reader.size, reader.digest.hexdigest()) != (size, sha256):
                    problems.append(f"{member.name}: its content differs from the manifest (SHA-256 "
                                    f"{reader.digest.hexdigest()[:12]}…, expected {sha256[:12]}…)")
        except (tarfile.TarError, OSError, EOFError) as error:
            problems.append(f"the archive cannot be read to its end: {error}")
        problems += [f"{name}: in the manifest but not in the archive" for name in sorted(set(expected) - seen)]
    if problems:
        raise VerificationFailed(f"{archive} does not match its manifest: the archive is damaged or was altered"
                                 f"{consequence}", problems)
    return manifest


# Restore -------------------------------------------------------------------------------------

@dataclass
class RestoreResult:
    manifest: Manifest
    code_revisions: list[str]  # the migrations' heads of this code, to compare with the backup's


def code_revisions() -> list[str]:
    """The head revision(s) of this code's migrations."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    return sorted(ScriptDirectory.from_config(config).get_heads())


def _safe_relative(path: str, areas: dict[str, Area]) -> tuple[Area, Path]:
    """The area and target of a manifest's file path; never anywhere outside the area's folder."""
    area_name, _, rest = path.partition("/")
    parts = rest.split("/")
    if area_name not in areas or not rest or any(p in ("", ".", "..") or "\x00" in p for p in parts):
        raise BackupError(f"The manifest names a file at {path!r}, outside the folders the desk stores files in.")
    area = areas[area_name]
    return area, area.directory.joinpath(*parts)


def _sqlite_objects(path: Path) -> int | None:
    """How many tables the SQLite file holds (None: it is not a SQLite database)."""
    if not path.exists() or path.stat().st_size == 0:
        return 0
    try:
        with closing(sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)) as conn:
            return len(_sqlite_tables(conn))
    except sqlite3.DatabaseError:
        return None


def _occupied(session: Session, areas: list[Area]) -> dict[str, list[str]]:
    """What the restore would overwrite: the database's tables, the folders' files."""
    engine = session.get_bind().engine
    shown = engine.url.render_as_string(hide_password=True)
    found: dict[str, list[str]] = {}
    if engine.dialect.name == "sqlite":
        objects = _sqlite_objects(_sqlite_path(engine.url))
        if objects is None:
            found["database"] = [f"{engine.url.database} exists and is not a SQLite database."]
        elif objects:
            found["database"] = [f"The database {engine.url.database} is not empty ({_count(objects, 'table')})."]
    else:
        relations = _pg_relations(session)
        discard(session)
        if relations:
            names = ", ".join(name for name, _ in relations[:5]) + (
                f" and {len(relations) - 5} more" if len(relations) > 5 else "")
            found["database"] = [f"The database {shown} is not empty: it holds {names}."]
    for area in areas:
        count = sum(1 for _ in _files_in(area.directory))
        if count:
            found.setdefault("files", []).append(f"{area.directory} already holds {_count(count, 'file')}.")
    return found


def _empty_postgres(session: Session) -> None:
    """Drop every table, view, sequence, type and routine of the schema (not an extension's)."""
    drops = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW", "S": "SEQUENCE", "f": "FOREIGN TABLE"}
    for name, kind in _pg_relations(session):
        session.execute(sa.text(f"DROP {drops[kind]} IF EXISTS {_quote(name)} CASCADE"))
    for name, kind in session.execute(_PG_TYPES).all():
        session.execute(sa.text(f"DROP {'DOMAIN' if kind == 'd' else 'TYPE'} IF EXISTS {_quote(name)} CASCADE"))
    routines = session.execute(_PG_ROUTINES).scalars().all()
    for signature in routines:  # (regprocedure's text is already quoted where needed)
        session.execute(sa.text(f"DROP ROUTINE IF EXISTS {signature} CASCADE"))
    commit(session)


def _empty_areas(areas: list[Area]) -> None:
    for area in areas:
        for path in list(_files_in(area.directory)):
            path.unlink()


def _extract(tar: tarfile.TarFile, name: str | tarfile.TarInfo) -> IO[bytes]:
    stream = tar.extractfile(name)
    if stream is None:
        raise BackupError(f"{getattr(name, 'name', name)} is not a file in the archive.")
    return stream


def _restore_sqlite(tar: tarfile.TarFile, manifest: Manifest, engine: Engine) -> None:
    target = _sqlite_path(engine.url)
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".restore")  # mode 0600
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(_extract(tar, manifest.database["member"]), "rb") as packed:
            shutil.copyfileobj(packed, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        with closing(sqlite3.connect(temporary)) as conn:
            check = [row[0] for row in conn.execute("PRAGMA quick_check")]
        if check != ["ok"]:
            raise BackupError(f"The archived database is damaged (PRAGMA quick_check): {'; '.join(check[:5])}")
        engine.dispose()  # no pooled connection keeps reading the file being replaced
        # A -wal or -shm beside the target belongs to the database being replaced: SQLite would
        # apply it to the restored file.
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        os.replace(temporary, target)
    except (OSError, EOFError, gzip.BadGzipFile, sqlite3.Error) as error:
        temporary.unlink(missing_ok=True)
        raise BackupError(f"The database could not be restored: {error}.") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _restore_postgres(tar: tarfile.TarFile, manifest: Manifest, session: Session, config: Mapping[str, Any],
                      work: Path) -> None:
    engine = session.get_bind().engine
    major = server_major(session)
    discard(session)
    source = str(manifest.database.get("server_major", major))
    if tuple(int(p) for p in source.split(".")) > tuple(int(p) for p in major.split(".")):
        raise BackupError(f"The backup was made from PostgreSQL {source} and this server runs {major}: restore it "
                          f"into PostgreSQL {source} or newer.")
    tool = find_pg_tool("pg_restore", major, config)
    dump = work / "desk.pgdump"
    with open(dump, "wb") as out:
        shutil.copyfileobj(_extract(tar, manifest.database["member"]), out, CHUNK)
    env = pg_environment(engine.url)
    # Everything but the comments on extensions (pg_trgm's own text, which CREATE EXTENSION
    # writes anyway): only the extension's owner may set it, and where a superuser created the
    # extension beforehand, the desk's role restoring would fail on it.
    contents = _run([str(tool), "--list", str(dump)], env, "pg_restore --list")
    listing = work / "desk.pgdump.list"
    listing.write_text("".join(line for line in contents.splitlines(keepends=True)
                               if not _EXTENSION_COMMENT.match(line)))
    # One transaction: a restore that fails leaves the database as empty as it was. The objects
    # belong to the user restoring, not to whoever owned them where the dump was made.
    _run([str(tool), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "--no-password",
          f"--use-list={listing}", f"--dbname={_conninfo_dbname(engine.url.database or '')}", str(dump)],
         env, "pg_restore")
    dump.unlink()


_EXTENSION_COMMENT = re.compile(r"^\d+; \d+ \d+ COMMENT - EXTENSION ")


def _restore_files(tar: tarfile.TarFile, manifest: Manifest, areas: list[Area]) -> None:
    by_name = {area.name: area for area in areas}
    for entry in manifest.files:
        area, target = _safe_relative(entry["path"], by_name)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(_extract(tar, FILES + entry["path"]), out, CHUNK)


def _check_restored(session: Session, manifest: Manifest, areas: list[Area]) -> list[str]:
    """Everything restored, read back and compared with the manifest."""
    engine = session.get_bind().engine
    problems = []
    if engine.dialect.name == "sqlite":
        with closing(sqlite3.connect(_sqlite_path(engine.url))) as conn:
            counts = sqlite_row_counts(conn)
            revision = (_revision([r for (r,) in conn.execute("SELECT version_num FROM alembic_version")])
                        if "alembic_version" in counts else None)
    else:
        with engine.connect() as conn:
            counts = pg_row_counts(conn)
            revision = (_revision(list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()))
                        if "alembic_version" in counts else None)
    for table in sorted(set(manifest.row_counts) | set(counts)):
        expected, found = manifest.row_counts.get(table), counts.get(table)
        if expected != found:
            problems.append(f"table {table}: {found if found is not None else 'missing'} rows, the manifest says "
                            f"{expected if expected is not None else 'no such table'}")
    if revision != manifest.alembic_revision:
        problems.append(f"the Alembic revision is {revision}, the manifest says {manifest.alembic_revision}")
    by_name = {area.name: area for area in areas}
    for entry in manifest.files:
        _, path = _safe_relative(entry["path"], by_name)
        if not path.is_file():
            problems.append(f"{entry['path']}: not restored ({path} is missing)")
        elif sha256_of(path) != (entry["size"], entry["sha256"]):
            problems.append(f"{entry['path']}: {path} differs from the manifest (size or SHA-256)")
    return problems


def restore(session: Session, config: Mapping[str, Any], archive: str | os.PathLike, *,
            force: bool = False) -> RestoreResult:
    """Restore the archive into this desk's database and stored-file folders, which must be
    empty (``force``: they are emptied first, and what they held is lost).

    The archive is verified in full before anything is touched (VerificationFailed); refused
    (ValidationFailed on "database" or "files"): something to overwrite without ``force``;
    BackupError: another dialect, an older PostgreSQL, a tool that fails; VerificationFailed
    after the restore: what was restored differs from the manifest."""
    archive = Path(archive)
    manifest = verify_archive(archive, "; nothing was restored")
    engine = session.get_bind().engine
    if manifest.dialect != engine.dialect.name:
        raise BackupError(f"The backup is of a {manifest.dialect} database and DESK_DATABASE_URL is "
                          f"{engine.dialect.name}: restore it into {manifest.dialect}.")
    areas = stored_file_areas(config)
    _check_areas(areas, config, _sqlite_path(engine.url) if engine.dialect.name == "sqlite" else None)
    occupied = _occupied(session, areas)
    if occupied and not force:
        list(occupied.values())[-1].append("Restore into an empty database and empty folders, or give --force to "
                                           "empty them first (what they hold is lost).")
        raise ValidationFailed(occupied)
    try:
        with _open_archive(archive) as tar:
            if engine.dialect.name == "sqlite":
                _restore_sqlite(tar, manifest, engine)  # (replaces the file whole: nothing to empty first)
            else:
                if occupied:
                    _empty_postgres(session)
                instance = Path(config["INSTANCE_PATH"])
                instance.mkdir(mode=0o700, parents=True, exist_ok=True)
                with tempfile.TemporaryDirectory(dir=instance, prefix=TEMP_PREFIX, suffix=".work") as work:
                    _restore_postgres(tar, manifest, session, config, Path(work))
            if occupied:
                _empty_areas(areas)
            _restore_files(tar, manifest, areas)
    except (OSError, tarfile.TarError, EOFError) as error:
        raise BackupError(f"The restore stopped: {error}. The database and the folders may be partly restored: "
                          "once the cause is fixed, run it again with --force.") from None
    problems = _check_restored(session, manifest, areas)
    if problems:
        raise VerificationFailed("What was restored differs from the backup's manifest", problems)
    return RestoreResult(manifest, code_revisions())


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def describe(manifest: Manifest) -> str:
    """"45 tables, 1,234 rows and 17 files (revision 0013_sla_policy, made 2026-05-01T02:30:00+00:00)"."""
    return (f"{_count(len(manifest.row_counts), 'table')}, {_count(manifest.rows, 'row')} and "
            f"{_count(len(manifest.files), 'file')} "
            f"(revision {manifest.alembic_revision or 'none'}, made {manifest.created_at})")

