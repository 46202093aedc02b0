"""The Flask app through its test client: pages, health check, and what it trusts from nginx.

What the pages say is yours to change, so no test reads it: what the app makes of a request
comes from a route of the tests' own (tests/probe_app.py). `app` and `client` are in conftest.py.
"""

import pytest
from probe_app import probe

from app import DEFAULT_DOMAIN, create_app


@pytest.fixture
def seen(app, client):
    """GET the probe's /probe/seen with the given test client arguments; return its JSON."""
    app.register_blueprint(probe)
    return lambda **arguments: client.get("/probe/seen", **arguments).json


def test_home_page_renders(client):
    response = client.get("/")

    assert response.status_code == 200
    assert response.mimetype == "text/html"


def test_domain_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DOMAIN", "staging.example.org")

    assert create_app().config["DOMAIN"] == "staging.example.org"


def test_domain_defaults_to_the_one_answered_at_generation(monkeypatch):
    monkeypatch.delenv("DOMAIN", raising=False)

    assert create_app().config["DOMAIN"] == DEFAULT_DOMAIN


def test_flask_settings_come_from_prefixed_environment_variables(monkeypatch):
    monkeypatch.setenv("FLASK_MAX_CONTENT_LENGTH", "1048576")

    assert create_app().config["MAX_CONTENT_LENGTH"] == 1048576


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
