"""What the deploy tool knows about this site, written from the answers when it was generated."""

DOMAIN = {{ cookiecutter.domain | tojson }}
SLUG = {{ cookiecutter.domain_slug | tojson }}
REGION = {{ cookiecutter.aws_region | tojson }}

RESOURCES_STACK = f"{SLUG}-resources"
SERVICE_STACK = f"{SLUG}-service"
