"""flask-fargate's deploy tool: `flask-fargate COMMAND` in a site's folder (`flask-fargate --help`).

Importing the package costs nothing: boto3, the Docker SDK and rich load only when a command runs,
so stdlib-only code (the generation hook reads `flask_fargate.cost`) can import its modules.
"""
