"""`flask-fargate <command>`, the deploy commands: options, the AWS session, the command, errors
as one line."""

import argparse
import contextlib
import json
import sys

COMMANDS = {
    "up": "create or update both stacks, building and pushing the image in between",
    "plan": "show what `up` would change in each stack; applies nothing",
    "image": "build the image for the tasks' CPU and push it to the site's ECR repository",
    "status": "both stacks, the service's tasks and rollout, the certificate, the URL",
    "logs": "the site's log events from CloudWatch",
    "ns": "the hosted zone's name servers to delegate the domain to, or (DNS at another provider) "
    "the records to create there",
    "destroy": "delete the service stack, then the resources stack (asks first)",
    "rollback": "run the image the service ran before the current one again (through its stack)",
    "run": "run a command once in a new task, as the service's tasks run: run -- COMMAND ...",
    "secret": "the app's secrets (FLASK_<NAME>): secret set NAME, secret list, secret rm NAME",
}


def common_options(defaults):
    """Options every command takes, before or after its name.

    The subcommands' copies default to SUPPRESS so that they do not overwrite a value given
    before the command name.
    """
    parser = argparse.ArgumentParser(add_help=False)
    default = None if defaults else argparse.SUPPRESS
    parser.add_argument(
        "--region", default=default, help="AWS region (default: the site's, in pyproject.toml)"
    )
    parser.add_argument("--profile", default=default, help="AWS profile from ~/.aws/config")
    parser.add_argument(
        "--endpoint-url",
        default=default,
        help="an AWS-compatible endpoint instead of AWS (a local moto server for rehearsals)",
    )
    return parser


def parser():
    main = argparse.ArgumentParser(
        prog="flask-fargate",
        description="Deploy the site in this folder to AWS Fargate with CloudFormation.",
        epilog="Two more commands take options of their own: `flask-fargate rehearse` (the first "
        "deploy against a local stand-in for AWS, offline) and `flask-fargate local` (the image "
        "run here as Fargate runs it; needs Docker).",
        parents=[common_options(defaults=True)],
    )
    commands = main.add_subparsers(dest="command", required=True, metavar="command")
    after = common_options(defaults=False)
    sub = {
        name: commands.add_parser(name, help=text, description=text, parents=[after])
        for name, text in COMMANDS.items()
    }
    for name in ("up", "plan"):
        sub[name].add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="a stack parameter (e.g. DesiredCount=3, CertificateArn=arn:...); "
            "kept by later deploys until set again",
        )
        sub[name].add_argument(
            "--tag",
            help="deploy this image tag, already in ECR, instead of building one (so not before "
            "the resources stack, which holds the repository, exists)",
        )
    sub["up"].add_argument(
        "--recreate",
        action="store_true",
        help="delete and create again a stack whose creation failed (ROLLBACK_COMPLETE)",
    )
    sub["up"].add_argument(
        "--service-only",
        action="store_true",
        help="leave the resources stack as it is: the image and the service stack only "
        "(all that the GitHub deploy role may change)",
    )
    sub["up"].add_argument(
        "--yes",
        action="store_true",
        help="apply each change set without asking (scripts and CI); without it, up shows "
        "each change set and asks",
    )
    sub["up"].add_argument(
        "--before",
        metavar="COMMAND",
        help="run COMMAND (e.g. 'flask --app app db upgrade') in a one-off task of the new "
        "image, after the push and before the service changes, unless the service runs that "
        "image already; when it fails nothing rolls out. Default: pyproject.toml's "
        "[tool.flask-fargate] before; --before '' runs none",
    )
    sub["destroy"].add_argument(
        "--yes", action="store_true", help="delete without asking (scripts and CI)"
    )
    sub["rollback"].add_argument(
        "--yes", action="store_true", help="apply the change set without asking (scripts and CI)"
    )
    sub["run"].add_argument(
        "argv",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND ...",
        help="the command and its arguments, after --",
    )
    secret_actions(sub["secret"], after)
    for name in ("plan", "status"):
        sub[name].add_argument(
            "--output",
            choices=("text", "json"),
            default="text",
            help="json: the facts as JSON on stdout, for scripts and CI (messages go to stderr)",
        )
    sub["logs"].add_argument("--since", default="10m", help="how far back, e.g. 30s, 10m, 2h, 1d")
    sub["logs"].add_argument("--follow", action="store_true", help="keep printing new events")
    return main


def secret_actions(secret, common):
    actions = secret.add_subparsers(dest="action", required=True, metavar="action")
    texts = {
        "set": "store NAME's value, read from standard input or a hidden prompt (never argv)",
        "list": "the names and when each was last set; never a value",
        "rm": "remove NAME",
    }
    for action, text in texts.items():
        parser = actions.add_parser(action, help=text, description=text, parents=[common])
        if action == "list":
            continue
        parser.add_argument("name", metavar="NAME", help="as in app.config, e.g. DATABASE_URL")
        parser.add_argument(
            "--restart",
            action="store_true",
            help="restart the service's tasks onto the change now (else the next deploy does)",
        )
        parser.add_argument(
            "--yes",
            action="store_true",
            help="restart without asking; rm: remove SECRET_KEY, signing everyone out",
        )


def run(options):
    # Imported here so that `--help` and a bad option answer at once, without loading boto3.
    from flask_fargate import commands, stacks
    from flask_fargate.aws import Aws

    handlers = {
        "up": commands.up,
        "plan": commands.plan,
        "image": commands.build_image,
        "status": commands.status,
        "logs": commands.logs,
        "ns": commands.ns,
        "destroy": commands.destroy,
        "rollback": commands.rollback,
        "run": commands.run,
        "secret": commands.secret,
    }
    stacks.check_interface()
    aws = Aws(region=options.region, profile=options.profile, endpoint_url=options.endpoint_url)
    aws.check()
    if getattr(options, "output", "text") == "text":
        handlers[options.command](aws, options)
        return
    # The facts alone on stdout, for scripts and CI; what the tool says meanwhile, on stderr.
    with contextlib.redirect_stdout(sys.stderr):
        facts = handlers[options.command](aws, options)
    print(json.dumps(facts, indent=2, default=str))


def main(argv=None):
    options = parser().parse_args(argv)
    import botocore.exceptions
    import botocore.parsers

    from flask_fargate.aws import credential_problem
    from flask_fargate.errors import USAGE, Abort
    from flask_fargate.ui import fail

    try:
        run(options)
    except Abort as stop:
        fail(stop.message)
        return stop.status
    except botocore.parsers.ResponseParserError as error:
        fail(f"the endpoint's answer is not AWS's API: {str(error).splitlines()[0]}")
        return 1
    except botocore.exceptions.EndpointConnectionError as error:
        fail(f"{error} (check --endpoint-url and the network)")
        return USAGE
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        problem = credential_problem(error)
        fail(problem or f"AWS: {error}")
        return USAGE if problem else 1
    except KeyboardInterrupt:
        fail("interrupted")
        return 130
    return 0
