"""Entry point for gunicorn/waitress: ``gunicorn -w 4 wsgi:app``.

Each worker imports this: the templates are compiled here, before the worker takes its first request.
"""

from miniservice import create_app
from miniservice.app import compile_templates

app = create_app()
compile_templates(app)
