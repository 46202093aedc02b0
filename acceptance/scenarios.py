"""The scenarios, in the order they run; each checks the registry entries it names.

Four sites: `a` rolling, on a load balancer of its own (and with a test zone, HTTPS and Route
53); `b` blue_green; `c` canary on mixed capacity, three tasks; `d` linear, joining a's load
balancer. Without a test zone no site has a domain that resolves: requests go to the load
balancer's DNS name with the site's name as Host, which its listener rule matches.
"""

import contextlib
import signal
import socket
import time
from contextlib import contextmanager

from acceptance.harness import PREFIX
from acceptance.traffic import During

UP = ("up", "--yes")
SHORT_BAKE = ("--set", "BakeMinutes=1")  # kept by later deploys: a blue/green deploy in minutes
DEPLOY_TIMEOUT = 45 * 60  # a deploy still going after this hangs (a crash must roll back)
ANSWERS = {
    "a": {"deploy_strategy": "rolling", "desired_count": "2", "max_count": "2"},
    "b": {"deploy_strategy": "blue_green", "desired_count": "2", "max_count": "2"},
    "c": {"deploy_strategy": "canary", "capacity": "mixed", "desired_count": "3", "max_count": "3"},
    "d": {"deploy_strategy": "linear", "desired_count": "2", "max_count": "2"},
}


class Hung(Exception):
    """A deploy outlived DEPLOY_TIMEOUT."""


@contextmanager
def deadline(seconds):
    def expire(signum, frame):
        raise Hung(f"still deploying after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def answers(run, name):
    """The site's answers: no domain of its own (DNS elsewhere, no HTTPS), or with a test zone
    site a in that zone with HTTPS."""
    own = {"dns": "external", "ssl": "no"}
    if run.zone and name == "a":
        own = {"dns": "route53", "ssl": "yes", "hosted_zone_id": run.zone["id"]}
    if name == "d":
        own["host_site"] = run.sites["a"].slug
    return {**own, **ANSWERS[name]}


def site_url(run, site):
    """(URL, Host header) a request stream uses."""
    outputs = run.outputs(site)
    if run.zone and site.name == "a":
        return f"https://{outputs['DomainName']}/", None
    balancer = run.outputs(run.sites["a"]) if site.answers.get("host_site") else outputs
    return f"http://{balancer.get('LoadBalancerDnsName', 'none.invalid')}/", outputs["DomainName"]


def deploy(run, site, *argv):
    """`up` with a request stream running (from the second deploy on); its exit status."""
    url = site_url(run, site) if run.outputs(site) else None
    with deadline(DEPLOY_TIMEOUT):
        if url is None:
            return run.tool(site, *UP, *argv)
        with During(run, *url):
            return run.tool(site, *UP, *argv)


# ---------------------------------------------------------------- what AWS says, asked once


def service(run, site):
    """DescribeServices of the site's service (the physical id of its service stack's)."""
    pages = run.aws.cloudformation.get_paginator("list_stack_resources").paginate(
        StackName=f"{site.slug}-service"
    )
    (arn,) = [
        r["PhysicalResourceId"]
        for page in pages
        for r in page["StackResourceSummaries"]
        if r["ResourceType"] == "AWS::ECS::Service"
    ]
    ecs = run.aws.client("ecs")
    (described,) = ecs.describe_services(cluster=arn.split("/")[-2], services=[arn])["services"]
    return described


def latest_deployment(run, site):
    ecs = run.aws.client("ecs")
    arn = service(run, site)["serviceArn"]
    (brief, *_) = ecs.list_service_deployments(service=arn, cluster=arn.split("/")[1])[
        "serviceDeployments"
    ]
    (deployment,) = ecs.describe_service_deployments(
        serviceDeploymentArns=[brief["serviceDeploymentArn"]]
    )["serviceDeployments"]
    return deployment


def weights(run, site):
    """{target group name: weight} of the production rule."""
    elbv2 = run.aws.client("elbv2")
    (rule,) = elbv2.describe_rules(RuleArns=[run.outputs(site)["ProductionListenerRuleArn"]])[
        "Rules"
    ]
    groups = rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
    return {group["TargetGroupArn"].split("/")[-2]: group.get("Weight", 1) for group in groups}


def registered(run, site):
    """{target group name: [target states]}: where the tasks are registered."""
    outputs = run.outputs(site)
    elbv2 = run.aws.client("elbv2")
    found = {}
    for key in ("TargetGroupArn", "AlternateTargetGroupArn"):
        health = elbv2.describe_target_health(TargetGroupArn=outputs[key])
        states = [t["TargetHealth"]["State"] for t in health["TargetHealthDescriptions"]]
        found[outputs[key].split("/")[-2]] = states
    return found


def record_service(run, site, label):
    """After a deploy: where tasks are registered, the rule's weights, DescribeServices."""
    described = service(run, site)
    run.observe(f"{label}: registered targets", registered(run, site))
    run.observe(f"{label}: rule weights", weights(run, site))
    run.observe(
        f"{label}: DescribeServices",
        {
            "taskDefinition": described["taskDefinition"].split("/")[-1],
            "deployments": [
                {k: d.get(k) for k in ("status", "rolloutState", "taskDefinition")}
                for d in described.get("deployments", [])
            ],
            "loadBalancers": described.get("loadBalancers"),
        },
    )
    return described


def serving(run, site):
    """The target group taking all the production traffic, or None while it is split."""
    shares = weights(run, site)
    full = [name for name, weight in shares.items() if weight and weight == sum(shares.values())]
    return full[0] if len(full) == 1 else None


# ---------------------------------------------------------------- the scenarios


def first_deploy(run):
    site = run.bake("a", **answers(run, "a"))
    run.require(deploy(run, site), "first deploy")
    outputs = run.outputs(site)
    run.check("cfn.changeset.create-has-outputs", outputs.get("ClusterName"), sorted(outputs))
    run.check("cfn.getatt.full-names", outputs.get("TargetGroupFullName"), outputs.get("TargetGroupFullName"))
    run.check("cfn.template-body-limit", True, "the resources stack was created from its TemplateBody")
    roles = run.aws.client("iam").get_role(RoleName="AWSServiceRoleForECS")["Role"]["Arn"]
    run.check("ecs.service-linked-role-required", roles, roles)
    described = service(run, site)
    definition = run.aws.client("ecs").describe_task_definition(
        taskDefinition=described["taskDefinition"]
    )["taskDefinition"]
    platform = definition.get("runtimePlatform", {})
    run.check("ecs.taskdefinition.runtime-platform", platform.get("cpuArchitecture") == "X86_64", platform)
    network = described.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
    run.check("ecs.service.network-configuration", network.get("subnets"), network)
    secret = run.aws.client("secretsmanager").describe_secret(SecretId=outputs["SecretsArn"])
    run.check("secretsmanager.cfn.generated-secret", "Secrets-" in secret["Name"], secret["Name"])
    balancer = run.aws.client("elbv2").describe_load_balancers(
        Names=[outputs["LoadBalancerFullName"].split("/")[1]]
    )["LoadBalancers"][0]
    run.check("elbv2.loadbalancer.ip-address-type", balancer["IpAddressType"] != "", balancer["IpAddressType"])


def second_image(run):
    site = run.sites["a"]
    before = service(run, site)["taskDefinition"]
    run.require(deploy(run, site, *run.new_image(site, "second")), "second image")
    after = service(run, site)["taskDefinition"]
    run.check("cfn.update.sub-and-replacement-order", after != before, f"{before} -> {after}")


def blue_green(run):
    site = run.bake("b", **answers(run, "b"))
    elbv2 = run.aws.client("elbv2")
    run.require(deploy(run, site, *SHORT_BAKE), "first blue_green deploy")
    outputs = run.outputs(site)
    (listener,) = elbv2.describe_listeners(ListenerArns=[outputs["HttpListenerArn"]])["Listeners"]
    default = listener["DefaultActions"][0]["Type"]
    described = record_service(run, site, "first deploy")
    first_group = outputs["TargetGroupArn"].split("/")[-2]
    on_first = registered(run, site)[first_group]
    run.check("ecs.bluegreen.first-deployment-group", on_first and serving(run, site) == first_group, registered(run, site), aws_only=True)
    strategy = described.get("deploymentConfiguration", {}).get("strategy")
    advanced = (described.get("loadBalancers") or [{}])[0].get("advancedConfiguration")
    run.check("ecs.service.describe-configuration", strategy == "BLUE_GREEN" and advanced, f"strategy {strategy}, advancedConfiguration {advanced}")
    count = len(run.aws.client("ecs").list_service_deployments(service=described["serviceArn"], cluster=outputs["ClusterName"])["serviceDeployments"])

    run.require(deploy(run, site, *run.new_image(site, "second")), "second blue_green deploy")
    described = record_service(run, site, "second deploy")
    deployment = latest_deployment(run, site)
    share = deployment["targetServiceRevision"].get("requestedProductionTrafficWeight")
    run.check("ecs.bluegreen.traffic-steps", deployment["status"] == "SUCCESSFUL" and share == 100, f"{deployment['status']}, new revision's weight {share}")
    alternate = outputs["AlternateTargetGroupArn"].split("/")[-2]
    run.check("ecs.bluegreen.new-tasks-in-idle-group", serving(run, site) == alternate, weights(run, site))
    after = len(run.aws.client("ecs").list_service_deployments(service=described["serviceArn"], cluster=outputs["ClusterName"])["serviceDeployments"])
    run.check("ecs.service-deployments.listed", after == count + 1, f"{count} -> {after} deployments")
    run.check("ecs.bluegreen.fixed-404-default", default == "fixed-response" and deployment["status"] == "SUCCESSFUL", f"listener default {default}, deployment {deployment['status']}", aws_only=True)
    run.check("elbv2.loadbalancer-role-modify-rule", deployment["status"] == "SUCCESSFUL", f"traffic moved by LoadBalancerRole: {weights(run, site)}", aws_only=True)

    # A change to the service stack alone, while ECS left the traffic on AlternateTargetGroup.
    was = serving(run, site)
    run.require(deploy(run, site, "--service-only", "--set", "BakeMinutes=2"), "service-stack change")
    record_service(run, site, "service-stack change")
    now, deployment = serving(run, site), latest_deployment(run, site)
    run.check("cfn.ecs.update-after-traffic-shift", deployment["status"] == "SUCCESSFUL" and now and now != was, f"served by {was}, then {now}; {deployment['status']}; requests {run.current.requests}")


def crash_rollback(run):
    """A crashing image under each strategy: `up` fails within the deadline, the service runs
    the task definition it ran before. On the stand-in no task runs: the deployment's alarms
    are set to ALARM instead, which ECS's stand-in rolls back on."""
    cloudwatch = run.aws.client("cloudwatch")
    for name in ("a", "b", "c", "d"):
        site = run.sites.get(name)
        if site is None:
            continue
        before = service(run, site)
        alarms = before["deploymentConfiguration"].get("alarms", {}).get("alarmNames", [])
        found = cloudwatch.describe_alarms(AlarmNames=alarms)["MetricAlarms"] if alarms else []
        run.check("cloudwatch.alarm.generated-name", len(found) == len(alarms), [a["AlarmName"] for a in found])
        if not run.on_aws:
            for alarm in alarms:
                cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="acceptance: a stand-in of a crash")
        started = time.monotonic()
        try:
            status = deploy(run, site, *run.new_image(site, "crash"))
        except Exception as error:
            status = f"{type(error).__name__}: {error}"
        finally:
            for alarm in alarms if not run.on_aws else []:
                cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="acceptance")
        seconds = round(time.monotonic() - started)
        after = service(run, site)
        deployment = latest_deployment(run, site)
        strategy = site.answers["deploy_strategy"]
        back = after["taskDefinition"] == before["taskDefinition"]
        said = f"{strategy}: up exited {status} after {seconds} s, deployment {deployment['status']}, task definition {'as before' if back else after['taskDefinition']}"
        run.observe(f"crash under {strategy}", said)
        rolled_back = status not in (0, None) and isinstance(status, int) and back
        behaviour = "ecs.rolling.circuit-breaker" if strategy == "rolling" else "ecs.deployment.alarm-rollback"
        run.check(behaviour, rolled_back and deployment["status"].startswith("ROLLBACK"), said, aws_only=strategy == "rolling")
        stack = run.aws.cloudformation.describe_stacks(StackName=f"{site.slug}-service")["Stacks"][0]
        run.check("cfn.ecs.update-waits-for-deployment", stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE", stack["StackStatus"], aws_only=True)


def mixed(run):
    site = run.bake("c", **answers(run, "c"))
    run.require(deploy(run, site, *SHORT_BAKE), "mixed site's deploy")
    outputs = run.outputs(site)
    ecs = run.aws.client("ecs")
    (cluster,) = ecs.describe_clusters(clusters=[outputs["ClusterName"]])["clusters"]
    providers = cluster.get("capacityProviders", [])
    run.check("ecs.cluster.capacity-providers", {"FARGATE", "FARGATE_SPOT"} <= set(providers), providers)
    arns = ecs.list_tasks(cluster=outputs["ClusterName"], serviceName=f"{site.slug}-service")["taskArns"]
    tasks = ecs.describe_tasks(cluster=outputs["ClusterName"], tasks=arns)["tasks"] if arns else []
    placed = sorted((t.get("startedAt", t.get("createdAt")), t.get("capacityProviderName")) for t in tasks)
    run.observe("tasks by start, provider", [str(p) for p in placed])
    on_demand = [p for _, p in placed].count("FARGATE")
    run.check("ecs.capacity.mixed-first-task-on-demand", placed and placed[0][1] == "FARGATE" and on_demand == 1, placed, aws_only=True)


def joining(run):
    host = run.sites["a"]
    site = run.bake("d", **answers(run, "d"))
    status = deploy(run, site, *SHORT_BAKE)
    run.check("cfn.importvalue-inside-if", status == 0, f"the joining site's up exited {status}", aws_only=True)
    run.require(status, "joining site's deploy")
    cloudformation = run.aws.cloudformation
    (stack,) = cloudformation.describe_stacks(StackName=f"{host.slug}-resources")["Stacks"]
    exports = [
        export["Name"]
        for page in cloudformation.get_paginator("list_exports").paginate()
        for export in page["Exports"]
        if export["ExportingStackId"] == stack["StackId"]
    ]
    importers = {}
    for export in exports:
        with contextlib.suppress(cloudformation.exceptions.ClientError):  # none imports it
            importers[export] = cloudformation.list_imports(ExportName=export)["Imports"]
    run.check("cfn.list-imports", any(f"{site.slug}-resources" in i for i in importers.values()), importers)
    run.check("cfn.exports.in-use-immutable", importers, f"{host.slug}'s exports in use: {sorted(importers)}")
    listener = run.outputs(host)["HttpListenerArn"]
    rules = run.aws.client("elbv2").describe_rules(ListenerArn=listener)["Rules"]
    run.observe("host listener's rules", [(r["Priority"], r["Conditions"]) for r in rules])


def https_dns(run):
    """With a test zone: site a's domain answers in public DNS and over HTTPS."""
    site = run.sites["a"]
    outputs = run.outputs(site)
    domain = outputs["DomainName"]
    records = run.aws.client("route53").list_resource_record_sets(HostedZoneId=run.zone["id"])
    validation = [r["Name"] for r in records["ResourceRecordSets"] if r["Type"] == "CNAME" and r["Name"].startswith("_") and domain in r["Name"]]
    run.check("acm.cfn.validation-record-in-zone", validation, validation)
    addresses = sorted({info[4][0] for info in socket.getaddrinfo(domain, 443)})
    run.observe("public DNS", addresses)
    from acceptance.traffic import Stream

    answer = Stream(f"https://{domain}/").request()
    run.observe("GET https://domain/", answer)
    if answer != "200":
        raise RuntimeError(f"https://{domain}/ answered {answer}")


def destroy(run):
    """`destroy` in every site, joining sites first; the tagging API then finds only what the
    stacks keep on purpose (the app's secret, the access logs), which cleanup deletes."""
    tagging = run.aws.client("resourcegroupstaggingapi")
    for name in ("d", "c", "b", "a"):
        site = run.sites.get(name)
        if site is None:
            continue
        host_listener = run.outputs(run.sites["a"])["HttpListenerArn"] if name == "d" else None
        run.require(run.tool(site, "destroy", "--yes"), f"destroy {site.slug}")
        stacks = {f"{site.slug}-resources", f"{site.slug}-service"}
        left = [
            r["ResourceARN"]
            for page in tagging.get_paginator("get_resources").paginate(TagFilters=[{"Key": "aws:cloudformation:stack-name", "Values": sorted(stacks)}])
            for r in page["ResourceTagMappingList"]
        ]
        run.observe(f"{site.slug}: tagged resources after destroy", left)
        kept = [arn for arn in left if ":secretsmanager:" in arn or ":s3:" in arn]
        run.check("tagging.finds-stack-resources", any(":secretsmanager:" in arn for arn in left), left)
        run.check("cfn.tags.stack-resource-tags", kept, kept)
        run.check("cfn.deletion-policy.retain-except-on-create", kept == left, f"left {left}")
        if host_listener:
            rules = run.aws.client("elbv2").describe_rules(ListenerArn=host_listener)["Rules"]
            ours = [r for r in rules if not r["IsDefault"] and any(site.answers and run.domain("d") in str(c) for c in r["Conditions"])]
            run.check("elbv2.cfn.rule-leaves-with-stack", not ours, f"{len(rules)} rules on the host's listener")
        if name == "a":
            run.check("cfn.delete.route-tables-before-vpc", True, "site a's resources stack, with its VPC, was deleted")
    remaining = [s["StackName"] for s in run.aws.cloudformation.describe_stacks()["Stacks"] if s["StackName"].startswith(PREFIX)]
    if remaining:
        raise RuntimeError(f"stacks left after destroy: {remaining}")


# The scenarios by name, in the order they run (later ones use the sites earlier ones made).
SCENARIOS = {
    "first-deploy": first_deploy,
    "second-image": second_image,
    "blue-green": blue_green,
    "mixed": mixed,
    "joining": joining,
    "https-dns": https_dns,
    "crash-rollback": crash_rollback,
    "destroy": destroy,
}
