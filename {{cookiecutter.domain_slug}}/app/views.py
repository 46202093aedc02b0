from flask import Blueprint, current_app, render_template

site = Blueprint("site", __name__)


@site.get("/")
def index():
    return render_template("index.html", domain=current_app.config["DOMAIN"])


@site.get("/health")
def health():
    # The load balancer's health check: answers from the process alone, so a slow
    # dependency never takes every task out of service at once.
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
