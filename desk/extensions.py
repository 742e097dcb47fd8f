"""Flask extensions, created here and bound to the app in create_app()."""
from typing import TYPE_CHECKING

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from desk.models.base import Base

if TYPE_CHECKING:
    from flask_sqlalchemy.session import Session

    class _SQLAlchemy(SQLAlchemy):
        # db.session is a scoped_session: it hands every Session method and attribute to the
        # Session of the current app context. The views pass it where the services take a
        # Session, and that is what it stands for, so it is typed as one, here, once.
        # (Checked: with the services' parameters typed as Session | scoped_session, mypy found
        # nothing they use that the proxy lacks. Only its own remove() is left out, which
        # Flask-SQLAlchemy calls at teardown and desk/ never does.)
        session: Session  # type: ignore[assignment]  # the proxy typed as the Session it stands for
else:
    _SQLAlchemy = SQLAlchemy

db = _SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
