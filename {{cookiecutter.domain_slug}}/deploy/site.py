"""What the deploy tool knows about this site, written from the answers when it was generated."""

DOMAIN = {{ cookiecutter.domain | tojson }}{{ "  # noqa: E501 - the domain as answered, however long" if (cookiecutter.domain | length) > 80 else "" }}
SLUG = {{ cookiecutter.domain_slug | tojson }}
REGION = {{ cookiecutter.aws_region | tojson }}

RESOURCES_STACK = f"{SLUG}-resources"
SERVICE_STACK = f"{SLUG}-service"
