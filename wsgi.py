"""What gunicorn and ``flask --app wsgi`` load."""
from desk import create_app

app = create_app()
