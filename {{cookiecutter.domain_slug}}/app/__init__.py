"""The site's web application.

`create_app()` is what gunicorn serves (`app:create_app()`, see container/gunicorn.conf.py).
Settings come from the environment, so the same image runs anywhere and holds no secret:
`DOMAIN` names the site, `SITE_URL` its address (https://... sends the session cookie over HTTPS
only), and any `FLASK_<NAME>` variable sets `app.config["<NAME>"]` (for example
`FLASK_SECRET_KEY`, which the task definition can take from a secret).
"""

import os

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.static_urls import hash_static_urls
from app.views import site

DEFAULT_DOMAIN = {{ cookiecutter.domain | tojson }}{{ "  # noqa: E501 - the domain as answered, however long" if (cookiecutter.domain | length) > 80 else "" }}
# As container/entrypoint reads it: the service stack passes the resources stack's SiteUrl.
DEFAULT_SITE_URL = {{ ("https://" if cookiecutter.ssl else "http://") | tojson }} + DEFAULT_DOMAIN


def create_app(config=None):
    app = Flask(__name__)
    app.config["DOMAIN"] = os.environ.get("DOMAIN") or DEFAULT_DOMAIN
    site_url = os.environ.get("SITE_URL") or DEFAULT_SITE_URL
    # The session cookie as Flask's security notes advise ("Set-Cookie options",
    # https://flask.palletsprojects.com/en/stable/web-security/#set-cookie-options): HttpOnly
    # (Flask's default), sent over HTTPS only when the site is served over HTTPS, and not on
    # requests other sites make (SameSite=Lax: a link followed to this site still carries it).
    # FLASK_SESSION_COOKIE_... variables and the config argument override them.
    app.config.update(
        SITE_URL=site_url,
        SESSION_COOKIE_SECURE=site_url.startswith("https://"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.config.from_prefixed_env()
    app.config.update(config or {})
    # nginx is the one proxy in front of the app and overwrites these headers on every request,
    # so exactly one hop is trusted: a client cannot choose its own address, scheme or host.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    app.register_blueprint(site)
    hash_static_urls(app)
    return app
