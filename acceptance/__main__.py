"""`python -m acceptance`: bake sites, deploy, check, destroy; on AWS or on the stand-in."""

import argparse
import os
import secrets
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from acceptance import cleanup, registry, report
from acceptance.harness import PREFIX, Run
from acceptance.scenarios import ESTIMATED, SCENARIOS, Hung

ZONE_VARIABLE = "FLASK_FARGATE_ACCEPTANCE_ZONE"  # a Route 53 hosted zone id: HTTPS and DNS too
RECORDS = Path(__file__).with_name("records")  # the runs on AWS, committed with the registry
# No scenario starts after these hours (each deploy has its deadline too): what the estimate
# counts. A full run should take about an hour and a half (never measured), more if a crashing
# image's deploy hangs until its deadline.
PLANNED_HOURS = 4


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m acceptance", description=__doc__)
    parser.add_argument(
        "--standin",
        action="store_true",
        help="against a local moto server taught AWS's rules, not AWS",
    )
    parser.add_argument("--yes", action="store_true", help="create without asking (CI)")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION", "eu-west-1"))
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help="comma-separated, in the order of " + ", ".join(SCENARIOS),
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="where the report goes (default: acceptance/records/ on AWS, to commit with the "
        "registry; build/acceptance/ on the stand-in)",
    )
    parser.add_argument(
        "--registry", type=Path, default=registry.REGISTRY, help="the registry a run on AWS updates"
    )
    options = parser.parse_args(argv)
    options.scenarios = options.scenarios.split(",")
    unknown = [name for name in options.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(
            f"--scenarios {','.join(unknown)}: no such scenario; one of {', '.join(SCENARIOS)}"
        )
    return options


class Stopped(BaseException):
    """SIGTERM (a cancelled CI job): stop the run, then clean up as after Ctrl-C."""


def stop(signum, frame):
    raise Stopped(f"signal {signum}")


def main(argv=None):
    options = parse(argv)
    if options.standin:
        from acceptance import standin

        with standin.server() as endpoint:
            return run(options, standin.aws(endpoint, options.region))
    import botocore.exceptions

    from flask_fargate.aws import Aws, credential_problem, known_regions
    from flask_fargate.errors import Abort

    try:
        aws = Aws(region=options.region)
        if aws.region not in known_regions(aws.session):
            raise Abort(f"--region {aws.region}: not an AWS region (for example eu-west-1)")
        aws.check()  # that credentials are found, as the tool checks them
        return run(options, aws)
    except Abort as stop:
        print(f"acceptance: {stop.message}", file=sys.stderr)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        print(f"acceptance: {credential_problem(error) or error}", file=sys.stderr)
    return 2


def tagged_after(aws, prefix):
    try:
        return cleanup.tagged(aws, prefix)
    except Exception as error:  # the report is written anyway
        return [f"the tagging API: {error}"]


def run(options, aws):
    on_aws = not options.standin
    try:
        account = cleanup.require_account(aws)
    except cleanup.Refused as refusal:
        print(f"acceptance: {refusal}", file=sys.stderr)
        return 2
    zone = None
    if os.environ.get(ZONE_VARIABLE) and on_aws:
        zone_id = os.environ[ZONE_VARIABLE]
        name = aws.client("route53").get_hosted_zone(Id=zone_id)["HostedZone"]["Name"].rstrip(".")
        zone = {"id": zone_id, "name": name}
    sites = ESTIMATED
    usd, lines = cleanup.estimate(sites, PLANNED_HOURS)
    print(f"Account {account}, region {aws.region}: {'AWS' if on_aws else 'the stand-in'}.")
    print(f"This run creates up to four sites, named {PREFIX}<run id>-<letter>, each two stacks")
    print("(network, load balancer, ECS cluster and service, ECR repository and its images, a")
    print("secret, alarms, access-log bucket; a joining site adds to a's load balancer):")
    print("\n".join(f"  {line}" for line in lines))
    print(f"Estimate: at most ${usd} for the {PLANNED_HOURS} hours a run may take, every task")
    print("counted twice (a blue/green deploy runs two sets), plus its cleanup's minutes.")
    stacks, arns = cleanup.leftovers(aws)
    if stacks or arns:
        print("Left by an earlier run, removed first:", *stacks, *arns, sep="\n  ")
    if on_aws and not options.yes and input(f"Type {account} to go on: ").strip() != account:
        print("Nothing created.")
        return 1
    left = cleanup.remove(aws) if stacks or arns else []
    if left:
        print("acceptance: an earlier run's resources could not be removed:", *left, sep="\n  ")
        return 1
    run_id = secrets.token_hex(3)
    started, clock = datetime.now(UTC), time.monotonic()
    out = (options.out or (RECORDS if on_aws else Path("build/acceptance"))) / run_id
    out.mkdir(parents=True)
    previous = signal.signal(signal.SIGTERM, stop)
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{run_id}-") as work:
        harness = Run(aws, run_id, Path(work), on_aws, zone)
        try:
            for name in options.scenarios:
                if time.monotonic() - clock > PLANNED_HOURS * 3600:
                    print(f"acceptance: {PLANNED_HOURS} hours are over: no more", flush=True)
                    break
                if name == "https-dns" and not zone:
                    continue
                with harness.scenario(name):
                    SCENARIOS[name](harness)
        except (KeyboardInterrupt, Stopped, Hung) as why:
            print(f"acceptance: interrupted ({str(why) or 'Ctrl-C'}): cleaning up", flush=True)
        finally:
            signal.signal(signal.SIGTERM, previous)
            left = cleanup.remove(aws, harness.prefix)
            if zone:
                left += cleanup.remove_records(aws, zone["id"], harness.prefix)
    seconds = round(time.monotonic() - clock)
    facts = report.record(
        harness,
        {
            "run_id": run_id,
            "target": "aws" if on_aws else "standin",
            "account": account,
            "region": aws.region,
            "started": started.isoformat(timespec="seconds"),
            "seconds": seconds,
            "estimate_usd": usd,
            "cost_usd": round(cleanup.estimate(sites, seconds / 3600)[0], 2),
            "left_behind": left,
            # No proof either way: it lists deleted resources for a while (cleanup.tagged).
            "tagged_after_cleanup": tagged_after(aws, harness.prefix),
        },
    )
    print(f"\nReport: {report.write(out, facts)}")
    if on_aws:
        registry.record_run(facts, options.registry)
        print(f"Registry updated: {options.registry}")
    failed = (
        left or any(s.error for s in harness.scenarios) or facts["registry"].get("contradicted")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
