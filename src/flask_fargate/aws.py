"""One AWS session for a command: region, profile and endpoint checked once, clients on demand."""

import os

import boto3
import botocore.exceptions

from flask_fargate import site
from flask_fargate.errors import USAGE, Abort
from flask_fargate.ui import errors

# Error codes AWS answers when the credentials themselves are the problem.
CREDENTIAL_ERRORS = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
}
# What --endpoint-url signs with when no credentials are found.
STAND_IN_KEY = "stand-in"


def known_regions(session):
    """Every region botocore knows CloudFormation in, across all partitions (aws, aws-cn, ...)."""
    return {
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("cloudformation", partition_name=partition)
    }


class Aws:
    """The AWS account and region a command works in."""

    def __init__(self, region=None, profile=None, endpoint_url=None):
        try:
            self.session = boto3.Session(
                profile_name=profile, region_name=region or site.current().region
            )
        except botocore.exceptions.ProfileNotFound as error:
            missing = error.kwargs["profile"]
            raise Abort(
                f"{profile_source(profile, missing)} {missing}: no such profile in "
                "~/.aws/config or ~/.aws/credentials",
                USAGE,
            ) from None
        self.region = self.session.region_name
        self.profile = profile  # as --profile gave it (AWS_PROFILE is the AWS CLI's too)
        self.endpoint_url = endpoint_url
        self._clients = {}

    def check(self):
        """Fail early, with one line, on an unknown region or when no credentials are found."""
        if self.region not in known_regions(self.session):
            raise Abort(
                f"--region {self.region}: not an AWS region (for example {site.current().region})",
                USAGE,
            )
        try:
            credentials = self.session.get_credentials()
        except botocore.exceptions.BotoCoreError as error:
            raise Abort(f"AWS credentials could not be loaded: {error}", USAGE) from None
        if credentials is None and self.endpoint_url:
            self.sign_for_a_stand_in()
        elif credentials is None:
            raise Abort(
                "No AWS credentials found: run `aws configure` or `aws sso login`, "
                "or set AWS_PROFILE (or pass --profile)",
                USAGE,
            )

    def sign_for_a_stand_in(self):
        """Dummy credentials for --endpoint-url, as `rehearse` sets them: a moto server, such as
        the one `rehearse --serve` starts, takes any; an endpoint that checks them refuses them,
        which credential_problem() says in one line."""
        self.session = boto3.Session(
            aws_access_key_id=STAND_IN_KEY,
            aws_secret_access_key=STAND_IN_KEY,
            region_name=self.region,
        )
        errors.print(
            f"No AWS credentials found: signing for {self.endpoint_url} with dummy ones "
            "(a moto server takes any)",
            style="yellow",
        )

    def client(self, service):
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, region_name=self.region, endpoint_url=self.endpoint_url
            )
        return self._clients[service]

    @property
    def cloudformation(self):
        return self.client("cloudformation")

    def cli_options(self):
        """The AWS CLI's options for where this command works, for the commands the tool prints:
        without them the CLI takes the region of its own configuration or environment, which may
        be another ("Configuring settings for the AWS CLI", precedence: the command line first,
        https://docs.aws.amazon.com/cli/latest/userguide/cli-chap-configure.html)."""
        options = f"--region {self.region}"
        if self.profile:
            options += f" --profile {self.profile}"
        if self.endpoint_url:
            options += f" --endpoint-url {self.endpoint_url}"
        return options


def profile_source(given, missing):
    """What named the profile `missing`: --profile, else the environment variable botocore read
    it from (AWS_DEFAULT_PROFILE or AWS_PROFILE: botocore/configprovider.py)."""
    if given:
        return "--profile"
    named = [name for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE") if os.environ.get(name)]
    return next((name for name in named if os.environ[name] == missing), "AWS_PROFILE")


def credential_problem(error):
    """A one-line explanation when `error` is AWS refusing the credentials, else None."""
    if isinstance(
        error, botocore.exceptions.NoCredentialsError | botocore.exceptions.TokenRetrievalError
    ):
        return f"AWS credentials unusable: {error}"
    if isinstance(error, botocore.exceptions.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        if code in CREDENTIAL_ERRORS:
            message = error.response["Error"].get("Message", "")
            return (
                f"AWS refused the credentials ({code}: {message}): log in again or pass --profile"
            )
    return None
