"""`flask-fargate secret set|list|rm`: the app's secrets, kept in one Secrets Manager secret.

The secret (the resources stack's `Secrets`) holds one JSON object, {"NAME": "value", ...}. ECS
puts a secret into a container as one variable per entry of the task definition, so one secret
per name would need a template edit for each; one object is one entry, SITE_SECRETS, which
container/entrypoint unpacks into FLASK_<NAME> variables: the app reads app.config["NAME"].

Values are read from standard input or a hidden prompt, never from the command line (shell
history, `ps`), and never printed. When each name was last set is kept in a tag of the secret
(`changed:NAME`), so that `secret list` says it without the values' history.
"""

import getpass
import json
import re
import sys
from datetime import UTC, datetime

from flask_fargate import stacks
from flask_fargate.errors import USAGE, Abort
from flask_fargate.ui import console, table

CHANGED = "changed:"
# Secrets Manager: a tag key is at most 128 characters, so `changed:NAME` caps NAME
# (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_TagResource.html).
MAX_NAME = 128 - len(CHANGED)
# What container/entrypoint accepts, too, up to MAX_NAME characters: no "__", which Flask's
# from_prefixed_env reads as a nested key (FLASK_A__B is app.config["A"]["B"]).
NAME = re.compile(r"(?!.*__)[A-Z][A-Z0-9_]*")
# FLASK_<NAME> variables the `flask` command reads as its own options, which a secret would
# change for every `flask ...` run in the container: --app, --debug, --env-file, the dotenv
# switch, `flask run`'s and `flask routes`' options (FLASK_<COMMAND>_<OPTION>), and the FLASK_ENV
# of Flask before 2.3 (https://flask.palletsprojects.com/en/stable/cli/).
FLASK_OWN = {"APP", "DEBUG", "ENV", "ENV_FILE", "SKIP_DOTENV"}
FLASK_OWN_PREFIXES = ("RUN_", "ROUTES_")
# What CloudFormation generates with the secret (GenerateStringKey in resources.yaml).
GENERATED = "SECRET_KEY"
MAX_BYTES = 65536  # Secrets Manager: a SecretString is at most 64 KiB
# Secrets Manager: tags per secret, those starting "aws:" (AWS's own) not counted (TagResource).
MAX_TAGS = 50


def checked_name(name):
    """The NAME of FLASK_<NAME>; one line and exit 2 for anything else."""
    if name.startswith("FLASK_"):
        bare = name.removeprefix("FLASK_")
        raise Abort(
            f"{name}: give the name without FLASK_ (`secret set {bare}` reaches the app as "
            f"FLASK_{bare}, app.config['{bare}'])",
            USAGE,
        )
    if len(name) > MAX_NAME or not NAME.fullmatch(name):
        raise Abort(
            f"{name[:40]!r}: a secret's name is upper case letters, digits and single _, "
            f"starting with a letter, at most {MAX_NAME} characters (e.g. DATABASE_URL), as in "
            "app.config",
            USAGE,
        )
    if name in FLASK_OWN or name.startswith(FLASK_OWN_PREFIXES):
        raise Abort(
            f"{name}: FLASK_{name} is an option of the `flask` command itself, not the app's "
            "configuration; choose another name",
            USAGE,
        )
    return name


def read_value(name):
    """The value from standard input (a pipe, a file) or a hidden prompt; never empty."""
    if sys.stdin.isatty():
        value = getpass.getpass(f"Value of {name} (not shown): ")
    else:
        value = sys.stdin.read().removesuffix("\n")
    if not value:
        raise Abort(f"{name}: empty value, nothing changed (`secret rm {name}` removes one)", USAGE)
    return value


def secret_arn(aws):
    """The site's secret, from the resources stack's outputs."""
    resources = stacks.outputs(stacks.require_usable(aws, stacks.resources().name))
    if "SecretsArn" not in resources:
        raise Abort(
            f"{stacks.resources().name} has no secret yet: `make deploy` (the template's new "
            "version adds it)",
            USAGE,
        )
    return resources["SecretsArn"]


def pinned(arn, version):
    """A task definition's valueFrom for the secret's version `version`: the full ARN, then
    :json-key:version-stage:version-id, the first two empty (Fargate 1.4.0+;
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html);
    service.yaml's task definition writes it the same way."""
    return f"{arn}:::{version}"


def current_version(aws, arn):
    """The id of the secret's current version (AWSCURRENT), "" for none: DescribeSecret, which
    reads no value (all the GitHub deploy role may do with the secret)."""
    if not arn:
        return ""
    stages = aws.client("secretsmanager").describe_secret(SecretId=arn)["VersionIdsToStages"]
    return next(version for version, labels in stages.items() if "AWSCURRENT" in labels)


def stored(aws, arn):
    value = aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    return json.loads(value)


def store(aws, arn, secrets):
    text = json.dumps(secrets, sort_keys=True)
    if len(text.encode()) > MAX_BYTES:
        raise Abort(f"the secrets would take {len(text.encode())} bytes; AWS keeps {MAX_BYTES}")
    aws.client("secretsmanager").put_secret_value(SecretId=arn, SecretString=text)


def tags_of(aws, arn):
    described = aws.client("secretsmanager").describe_secret(SecretId=arn)
    return {tag["Key"]: tag["Value"] for tag in described.get("Tags", [])}, described


def set_secret(aws, options):
    name = checked_name(options.name)
    arn = secret_arn(aws)
    tags, _ = tags_of(aws, arn)
    counted = [key for key in tags if not key.startswith("aws:")]
    if CHANGED + name not in tags and len(counted) >= MAX_TAGS:
        raise Abort(f"{name}: the secret holds {MAX_TAGS} tags, AWS's most; remove one", USAGE)
    value = read_value(name)
    secrets = stored(aws, arn)
    secrets[name] = value
    store(aws, arn, secrets)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    aws.client("secretsmanager").tag_resource(
        SecretId=arn, Tags=[{"Key": CHANGED + name, "Value": now}]
    )
    console.print(f"{name} set: the app reads app.config['{name}'] (FLASK_{name}) {when(options)}")


def remove_secret(aws, options):
    name = checked_name(options.name)
    if name == GENERATED and not options.yes:
        raise Abort(
            f"{name} signs the app's sessions: removing it signs everyone out, and the app has "
            f"no key until `secret set {name}`; pass --yes to remove it all the same",
            USAGE,
        )
    arn = secret_arn(aws)
    secrets = stored(aws, arn)
    if name not in secrets:
        raise Abort(f"{name}: no such secret; `flask-fargate secret list` shows them", USAGE)
    del secrets[name]
    store(aws, arn, secrets)
    aws.client("secretsmanager").untag_resource(SecretId=arn, TagKeys=[CHANGED + name])
    console.print(f"{name} removed: the app stops seeing it {when(options)}")


def when(options):
    if options.restart:
        return "once the service's tasks have restarted (now)"
    return "from the next deploy (`make deploy`; `--restart` restarts the tasks at once)"


def list_secrets(aws, options):
    arn = secret_arn(aws)
    names = sorted(stored(aws, arn))
    tags, described = tags_of(aws, arn)
    rows = table("name", "changed")
    for name in names:
        rows.add_row(name, changed(name, tags, described))
    console.print(rows if names else "No secrets: `flask-fargate secret set NAME` adds one.")


def changed(name, tags, described):
    if CHANGED + name in tags:
        return tags[CHANGED + name]
    if name == GENERATED:  # generated by CloudFormation with the secret
        return described["CreatedDate"].astimezone(UTC).isoformat(timespec="seconds")
    return "not recorded (set outside this tool)"
