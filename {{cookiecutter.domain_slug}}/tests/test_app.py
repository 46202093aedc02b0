"""The Flask app through its test client: pages, health check, and what it trusts from nginx."""

import pytest
from flask import request

from app import DEFAULT_DOMAIN, create_app


@pytest.fixture
def app():
    app = create_app({"TESTING": True})

    @app.get("/client")
    def client_address():
        return request.remote_addr

    return app


@pytest.fixture
def client(app):
    return app.test_client()


def test_home_page_names_the_site(client):
    response = client.get("/")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert f"<h1>{DEFAULT_DOMAIN}</h1>" in response.text


def test_domain_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DOMAIN", "staging.example.org")

    response = create_app().test_client().get("/")

    assert "<h1>staging.example.org</h1>" in response.text


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


def test_external_urls_follow_the_forwarded_scheme_and_host(client):
    response = client.get(
        "/",
        base_url="http://10.0.1.23:8080",
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "www.example.org"},
    )

    assert '<link rel="canonical" href="https://www.example.org/">' in response.text


def test_without_forwarded_headers_urls_use_the_request(client):
    response = client.get("/", base_url="http://10.0.1.23:8080")

    assert '<link rel="canonical" href="http://10.0.1.23:8080/">' in response.text


def test_client_address_is_the_one_nginx_forwards(client):
    response = client.get("/client", headers={"X-Forwarded-For": "203.0.113.7"})

    assert response.text == "203.0.113.7"


def test_only_the_last_forwarded_hop_is_trusted(client):
    # A client can put anything in X-Forwarded-For; only the entry nginx adds counts.
    response = client.get("/client", headers={"X-Forwarded-For": "198.51.100.66, 203.0.113.7"})

    assert response.text == "203.0.113.7"
