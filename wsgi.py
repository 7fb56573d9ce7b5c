"""Entry point for gunicorn/waitress: ``gunicorn -w 4 wsgi:app``."""

from miniservice import create_app

app = create_app()
