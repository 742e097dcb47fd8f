"""gunicorn's settings for the desk: read by gunicorn from the directory it starts in (the
checkout), whatever the command line adds. Logging only: gunicorn's own lines (its master's
too, before any app is loaded, and after a reload) go through the desk's log filter and, with
DESK_LOG_FORMAT=json, come out as JSON like the desk's (desk/logs.py)."""
import os

from gunicorn.glogging import Logger

from desk import logs


class DeskLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        logs.gunicorn(os.environ.get("DESK_LOG_FORMAT", "text").strip().lower())


logger_class = DeskLogger
# The access log (when --access-logfile is given) ends with the request's id, as the 500 page shows it.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'
