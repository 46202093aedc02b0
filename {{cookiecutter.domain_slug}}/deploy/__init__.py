"""The site's deploy tool: `python -m deploy <command>` (see `python -m deploy --help`).

Importing the package costs nothing: boto3, the Docker SDK and rich load only when a command runs,
so stdlib-only code (the generation hook reads `deploy.cost`) can import its modules.
"""
