"""What the AWS account must hold before the first stack: things shared by every site in it."""

import time

import botocore.exceptions

from flask_fargate.ui import console

# The service-linked roles the stacks rely on (ECS for the cluster and service, Elastic Load
# Balancing, Application Auto Scaling for the service's scaling). AWS creates each on first use,
# but in a fresh account CreateCluster may fail to assume the role it has just created
# (cloudformation-coverage-roadmap#818, containers-roadmap#2614), failing the first deploy once.
SERVICE_LINKED_ROLES = (
    "ecs.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com",
)
# How long a new role takes to be usable everywhere in IAM (the workaround AWS users report).
ROLE_PROPAGATION_SECONDS = 10
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"


def error_text(error):
    return error.response.get("Error", {}).get("Message", str(error))


def create_service_linked_roles(aws):
    """Create the roles a fresh account lacks; those that exist are left alone."""
    iam = aws.client("iam")
    created = []
    for service in SERVICE_LINKED_ROLES:
        try:
            role = iam.create_service_linked_role(AWSServiceName=service)["Role"]
        except botocore.exceptions.ClientError as error:
            message = error_text(error)
            if "has been taken" in message:
                continue  # the usual case: the account has it already
            console.print(
                f"warning: could not create the service-linked role of {service} ({message}); "
                "in an account that never used it, the first deploy may fail once",
                style="yellow",
            )
            continue
        created.append(role["RoleName"])
    if created:
        console.print(f"Created the service-linked roles this account lacked: {', '.join(created)}")
        time.sleep(ROLE_PROPAGATION_SECONDS)


def github_oidc_provider(aws):
    """The ARN of the account's GitHub Actions OIDC provider, or None (one per URL per account)."""
    listed = aws.client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]
    arns = [p["Arn"] for p in listed if p["Arn"].endswith(f":oidc-provider/{GITHUB_OIDC_HOST}")]
    return arns[0] if arns else None
