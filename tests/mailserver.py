"""A real IMAP server for the tests: Dovecot (Debian's dovecot-imapd) started with its own
configuration in a temporary directory, listening on 127.0.0.1 and a free port, with
passwd-file users and maildirs under that directory.

Without Dovecot the tests that need it are skipped on a workstation, but under CI
(``CI=true``) that is a failure: .ci/run installs it."""
from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def unavailable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: the mail server tests are required)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
{users}
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0600
  }}
  unix_listener stats-writer {{
    mode = 0600
  }}
}}
"""


class Dovecot:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="desk-dovecot-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.users: dict[str, str] = {}
        self._fresh = iter(range(1, 201))

    def start(self) -> Dovecot:
        if os.geteuid() == 0:  # mail processes may not run as root: Debian's "dovecot" user owns the mail
            account = pwd.getpwnam("dovecot")
            uid, gid, users = account.pw_uid, account.pw_gid, ""
        else:
            me = pwd.getpwuid(os.getuid()).pw_name
            uid, gid = os.getuid(), os.getgid()
            users = f"default_internal_user = {me}\ndefault_login_user = {me}"
        self.root.chmod(0o755)  # Dovecot's auth process (another user) reads the passwd file
        for name in ("run", "state", "mail"):
            (self.root / name).mkdir()
        os.chown(self.root / "mail", uid, gid)
        # Every user up front: Dovecot may not notice a passwd-file changed within the same second.
        self.users = {f"care{n}@example.org": "secret" for n in range(1, 201)}
        (self.root / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in self.users.items()))
        config = self.root / "dovecot.conf"
        config.write_text(CONFIG.format(root=self.root, uid=uid, gid=gid, port=self.port, users=users))
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        # Until it listens: readiness, not a timed assertion. The limit (about two minutes) only
        # stops a hang, far above a start on a busy machine (it was 10 s).
        for _ in range(2400):
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.process.stderr.read().decode()[:2000]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dovecot did not start listening")

    def user(self) -> str:
        """A mailbox no test has used yet."""
        return f"care{next(self._fresh)}@example.org"

    def imap(self, user: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(user, self.users[user])
        return conn

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message in the mailbox (IMAP APPEND, as a mail server's delivery would)."""
        conn = self.imap(user)
        try:
            typ, data = conn.append(folder, None, None, raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def flags(self, user: str, folder: str = "INBOX") -> list[str]:
        """Each message's flags, in order."""
        conn = self.imap(user)
        try:
            conn.select(folder)
            typ, data = conn.fetch("1:*", "(FLAGS)")
            return [item.decode() for item in data if item]
        except imaplib.IMAP4.error:
            return []
        finally:
            conn.logout()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def dovecot():
    if not os.path.exists(DOVECOT):
        unavailable("dovecot is missing: apt-get install dovecot-imapd to run the mail intake tests")
    server = Dovecot().start()
    yield server
    server.stop()
