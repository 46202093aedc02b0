"""The Flask app through its test client: pages, static URLs, health check, trust in nginx.

What the pages say is yours to change, so no test reads it: what the app makes of a request
comes from a route of the tests' own (tests/probe_app.py), and static URLs from a static folder
of the tests' own. `app` and `client` are in conftest.py.
"""

import hashlib
from html.parser import HTMLParser

import pytest
from flask import Flask, url_for
from probe_app import probe

from app import DEFAULT_DOMAIN, DEFAULT_SITE_URL, create_app
from app.static_urls import hash_static_urls, hashed_names


@pytest.fixture
def seen(app, client):
    """GET the probe's /probe/seen with the given test client arguments; return its JSON."""
    app.register_blueprint(probe)
    return lambda **arguments: client.get("/probe/seen", **arguments).json


def test_home_page_renders(client):
    response = client.get("/")

    assert response.status_code == 200
    assert response.mimetype == "text/html"


class StaticUrls(HTMLParser):
    """The /static/ URLs a page refers to (href and src attributes)."""

    def __init__(self, page):
        super().__init__()
        self.found = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and (value or "").startswith("/static/"):
                self.found.append(value)


def digest(content):
    return hashlib.sha256(content).hexdigest()[:12]


def test_every_static_file_the_home_page_links_is_named_by_its_content(client):
    # Written with url_for, whatever the page is: a name browsers may keep for a year.
    for url in StaticUrls(client.get("/").text).found:
        response = client.get(url)
        assert response.status_code == 200, url
        assert f".{digest(response.data)}." in url


@pytest.fixture
def static_app(tmp_path):
    """An app whose static folder is the test's tmp_path, for hash_static_urls to take on."""
    return Flask(__name__, static_folder=tmp_path, static_url_path="/static")


def test_a_static_files_hashed_name_follows_its_content(tmp_path):
    style = tmp_path / "css" / "site.css"
    style.parent.mkdir()
    style.write_bytes(b"p { color: red }")
    before = hashed_names(tmp_path)
    style.write_bytes(b"p { color: blue }")
    after = hashed_names(tmp_path)

    assert before == {"css/site.css": f"css/site.{digest(b'p { color: red }')}.css"}
    assert after == {"css/site.css": f"css/site.{digest(b'p { color: blue }')}.css"}


@pytest.mark.parametrize(
    ("name", "hashed"),
    [
        ("app.min.js", "app.min.{}.js"),
        ("LICENSE", "LICENSE.{}"),
        (".well-known/a.b", ".well-known/a.{}.b"),
    ],
)
def test_the_hash_goes_before_the_last_suffix(tmp_path, name, hashed):
    (tmp_path / name).parent.mkdir(exist_ok=True)
    (tmp_path / name).write_bytes(b"x")

    assert hashed_names(tmp_path) == {name: hashed.format(digest(b"x"))}


def test_url_for_static_gives_the_hashed_url_which_the_app_answers(static_app, tmp_path):
    (tmp_path / "site.css").write_bytes(b"p {}")
    hash_static_urls(static_app)
    with static_app.test_request_context():
        url = url_for("static", filename="site.css")

    response = static_app.test_client().get(url)

    assert url == f"/static/site.{digest(b'p {}')}.css"
    assert (response.status_code, response.data) == (200, b"p {}")


def test_the_app_answers_a_static_files_plain_name_but_no_other_hash(static_app, tmp_path):
    (tmp_path / "site.css").write_bytes(b"p {}")
    hash_static_urls(static_app)
    client = static_app.test_client()

    assert client.get("/static/site.css").data == b"p {}"
    assert client.get(f"/static/site.{digest(b'p { }')}.css").status_code == 404


def test_domain_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DOMAIN", "staging.example.org")

    assert create_app().config["DOMAIN"] == "staging.example.org"


def test_domain_defaults_to_the_one_answered_at_generation(monkeypatch):
    monkeypatch.delenv("DOMAIN", raising=False)

    assert create_app().config["DOMAIN"] == DEFAULT_DOMAIN


def test_flask_settings_come_from_prefixed_environment_variables(monkeypatch):
    monkeypatch.setenv("FLASK_MAX_CONTENT_LENGTH", "1048576")

    assert create_app().config["MAX_CONTENT_LENGTH"] == 1048576


def session_cookie(site_url, monkeypatch):
    """The session cookie's attributes, as {lowercase name: value}, set by an app given
    site_url as SITE_URL (None: not set, the address answered at generation)."""
    if site_url is None:
        monkeypatch.delenv("SITE_URL", raising=False)
    else:
        monkeypatch.setenv("SITE_URL", site_url)
    app = create_app({"TESTING": True, "SECRET_KEY": "test"})
    app.register_blueprint(probe)

    (cookie,) = app.test_client().get("/probe/session").headers.getlist("Set-Cookie")
    name_value, *attributes = (part.strip() for part in cookie.split(";"))
    assert name_value.startswith("session=")
    return {name.lower(): value for name, _, value in (a.partition("=") for a in attributes)}


@pytest.mark.parametrize(
    ("site_url", "secure"),
    [
        ("https://www.example.org", True),
        ("http://www.example.org", False),
        (None, DEFAULT_SITE_URL.startswith("https://")),
    ],
    ids=["https-site-url", "http-site-url", "answered-at-generation"],
)
def test_the_session_cookie_is_httponly_samesite_lax_and_secure_on_https(
    monkeypatch, site_url, secure
):
    attributes = session_cookie(site_url, monkeypatch)

    assert "httponly" in attributes  # no script reads it
    assert attributes["samesite"] == "Lax"  # not sent on other sites' requests (forms, frames)
    assert ("secure" in attributes) is secure  # never sent over plain HTTP when there is HTTPS


def test_health_answers_ok_uncached(client):
    response = client.get("/health")

    assert response.status_code == 200
    assert response.text == "ok"
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_path_is_404(client):
    assert client.get("/no-such-page").status_code == 404


def test_external_urls_follow_the_forwarded_scheme_and_host(seen):
    request = seen(
        base_url="http://10.0.1.23:8080",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "www.example.org"},
    )

    assert request["url"] == "https://www.example.org/probe/seen"


def test_without_forwarded_headers_urls_use_the_request(seen):
    assert seen(base_url="http://10.0.1.23:8080")["url"] == "http://10.0.1.23:8080/probe/seen"


def test_client_address_is_the_one_nginx_forwards(seen):
    assert seen(headers={"X-Forwarded-For": "203.0.113.7"})["client"] == "203.0.113.7"


def test_only_the_last_forwarded_hop_is_trusted(seen):
    # A client can put anything in X-Forwarded-For; only the entry nginx adds counts.
    request = seen(headers={"X-Forwarded-For": "198.51.100.66, 203.0.113.7"})

    assert request["client"] == "203.0.113.7"
