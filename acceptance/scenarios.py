"""The scenarios, in the order they run; each checks the registry entries that name it.

Four sites: `a` rolling, on a load balancer of its own; `b` blue_green; `c` canary on mixed
capacity, three tasks; `d` linear, joining a's load balancer. Without a test zone no site's
domain resolves: requests go to the load balancer's DNS name with the site's domain as Host,
which its listener rule matches. With one, each site has a name in it, HTTPS and its records.
"""

import contextlib
import signal
import socket
import time

from acceptance import cleanup
from acceptance.traffic import Stream, during

UP = ("up", "--yes")
SHORT_BAKE = ("--set", "BakeMinutes=1")  # kept by later deploys: a blue/green deploy in minutes
DEPLOY_TIMEOUT = 30 * 60  # a deploy still going then hangs: a crashing image must roll back
ANSWERS = {
    "a": {"deploy_strategy": "rolling", "desired_count": "2", "max_count": "2"},
    "b": {"deploy_strategy": "blue_green", "desired_count": "2", "max_count": "2"},
    "c": {"deploy_strategy": "canary", "capacity": "mixed", "desired_count": "3", "max_count": "3"},
    "d": {"deploy_strategy": "linear", "desired_count": "2", "max_count": "2"},
}
# What the estimate counts: d on a's load balancer.
ESTIMATED = {**ANSWERS, "d": {**ANSWERS["d"], "host_site": "a"}}


class Hung(BaseException):
    """A deploy outlived DEPLOY_TIMEOUT. Not an Exception, which code in between might catch:
    it stops the run (the crash scenario alone expects it)."""


@contextlib.contextmanager
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
    """No domain that resolves (DNS elsewhere, no HTTPS); with a test zone, a name in it, and
    HTTPS."""
    own = {"dns": "external", "ssl": "no"}
    if run.zone:
        own = {"dns": "route53", "ssl": "yes", "hosted_zone_id": run.zone["id"]}
    if name == "d":
        own["host_site"] = run.sites["a"].slug
    return {**own, **ANSWERS[name]}


def deploy(run, site, *argv):
    """`up`'s exit status, with a request stream running once the site serves."""
    outputs = run.outputs(site)
    with deadline(DEPLOY_TIMEOUT):
        if not outputs:
            return run.tool(site, *UP, *argv)
        if run.zone:
            target = (f"https://{outputs['DomainName']}/",)
        else:
            balancer = run.outputs(run.sites["a"]) if site.name == "d" else outputs
            target = (f"http://{balancer['LoadBalancerDnsName']}/", outputs["DomainName"])
        with during(run, *target):
            return run.tool(site, *UP, *argv)


# ---------------------------------------------------------------- what AWS says


def service(run, site):
    """DescribeServices of the site's service."""
    cloudformation = run.aws.cloudformation
    pages = cloudformation.get_paginator("list_stack_resources").paginate(
        StackName=f"{site.slug}-service"
    )
    (arn,) = [
        resource["PhysicalResourceId"]
        for page in pages
        for resource in page["StackResourceSummaries"]
        if resource["ResourceType"] == "AWS::ECS::Service"
    ]
    ecs = run.aws.client("ecs")
    return ecs.describe_services(cluster=arn.split("/")[-2], services=[arn])["services"][0]


def deployments(run, site):
    """The service's deployments (ListServiceDeployments), and the newest described."""
    described = service(run, site)
    ecs = run.aws.client("ecs")
    listed = ecs.list_service_deployments(
        service=described["serviceArn"], cluster=described["clusterArn"]
    )["serviceDeployments"]
    arn = max(listed, key=lambda brief: brief["createdAt"])["serviceDeploymentArn"]
    newest = ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]
    return listed, newest


def serving_listener(run, site):
    """The listener the site's rule is on: HTTPS's when there is one (HTTP's then redirects)."""
    outputs = run.outputs(site)
    return outputs.get("HttpsListenerArn") or outputs["HttpListenerArn"]


def group_name(arn):
    return arn.split("/")[-2]


def weights(run, site):
    """{target group name: weight} of the site's production rule."""
    arn = run.outputs(site)["ProductionListenerRuleArn"]
    (rule,) = run.aws.client("elbv2").describe_rules(RuleArns=[arn])["Rules"]
    groups = rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
    return {group_name(g["TargetGroupArn"]): g.get("Weight", 1) for g in groups}


def serving(run, site):
    """The target group taking all the production traffic (None while it is split)."""
    full = [name for name, weight in weights(run, site).items() if weight == 100]
    return full[0] if full else None


def registered(run, site):
    """{target group name: states of the targets registered in it}: where the tasks are."""
    elbv2, outputs = run.aws.client("elbv2"), run.outputs(site)
    return {
        group_name(outputs[key]): [
            target["TargetHealth"]["State"]
            for target in elbv2.describe_target_health(TargetGroupArn=outputs[key])[
                "TargetHealthDescriptions"
            ]
        ]
        for key in ("TargetGroupArn", "AlternateTargetGroupArn")
    }


def record_service(run, site, label):
    """After a deploy: where the tasks are registered, the rule's weights, DescribeServices."""
    described = service(run, site)
    run.observe(f"{label}: registered targets", registered(run, site))
    run.observe(f"{label}: rule weights", weights(run, site))
    run.observe(
        f"{label}: DescribeServices",
        {
            "taskDefinition": described["taskDefinition"].split("/")[-1],
            "deployments": [
                {key: each.get(key) for key in ("status", "rolloutState", "taskDefinition")}
                for each in described.get("deployments", [])
            ],
            "loadBalancers": described.get("loadBalancers"),
        },
    )
    return described


# ---------------------------------------------------------------- the scenarios


def first_deploy(run):
    site = run.bake("a", **answers(run, "a"))
    status = deploy(run, site)
    run.check(
        "cfn.template-body-limit", status == 0, f"up exited {status}: each TemplateBody taken"
    )
    run.require(status, "first deploy")
    outputs = run.outputs(site)
    run.check("cfn.changeset.create-has-outputs", outputs.get("ClusterName"), sorted(outputs))
    full_name = outputs.get("TargetGroupFullName")
    run.check("cfn.getatt.full-names", full_name, full_name)
    role = run.aws.client("iam").get_role(RoleName="AWSServiceRoleForECS")["Role"]["Arn"]
    run.check("ecs.service-linked-role-required", role, role)
    described = service(run, site)
    ecs = run.aws.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=described["taskDefinition"])
    platform = definition["taskDefinition"].get("runtimePlatform", {})
    run.check("ecs.taskdefinition.runtime-platform", platform.get("cpuArchitecture"), platform)
    network = described.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
    run.check("ecs.service.network-configuration", network.get("subnets"), network)
    secrets = run.aws.client("secretsmanager")
    name = secrets.describe_secret(SecretId=outputs["SecretsArn"])["Name"]
    run.check("secretsmanager.cfn.generated-secret", "Secrets-" in name, name)
    balancer_name = outputs["LoadBalancerFullName"].split("/")[1]
    elbv2 = run.aws.client("elbv2")
    (balancer,) = elbv2.describe_load_balancers(Names=[balancer_name])["LoadBalancers"]
    kind = balancer["IpAddressType"]
    run.check("elbv2.loadbalancer.ip-address-type", kind in ("dualstack", "ipv4"), kind)


def second_image(run):
    site = run.sites["a"]
    before = service(run, site)["taskDefinition"]
    run.require(deploy(run, site, *run.new_image(site, "second")), "second image")
    after = service(run, site)["taskDefinition"]
    run.check("cfn.update.sub-and-replacement-order", after != before, f"{before} -> {after}")


def blue_green(run):
    """Two blue_green deploys, then a change to the service stack alone."""
    site = run.bake("b", **answers(run, "b"))
    run.require(deploy(run, site, *SHORT_BAKE), "first blue_green deploy")
    outputs = run.outputs(site)
    described = record_service(run, site, "first deploy")
    primary = group_name(outputs["TargetGroupArn"])
    where = registered(run, site)
    run.check(
        "ecs.bluegreen.first-deployment-group",
        where[primary] and serving(run, site) == primary,
        f"registered {where}, serving {serving(run, site)}",
        aws_only=True,  # no task registers on the stand-in
    )
    configuration = described.get("deploymentConfiguration", {})
    advanced = (described.get("loadBalancers") or [{}])[0].get("advancedConfiguration")
    run.check(
        "ecs.service.describe-configuration",
        configuration.get("strategy") == "BLUE_GREEN" and advanced,
        f"strategy {configuration.get('strategy')}, advancedConfiguration {advanced}",
    )
    before, _ = deployments(run, site)

    run.require(deploy(run, site, *run.new_image(site, "second")), "second blue_green deploy")
    record_service(run, site, "second deploy")
    listed, newest = deployments(run, site)
    share = newest["targetServiceRevision"].get("requestedProductionTrafficWeight")
    succeeded = newest["status"] == "SUCCESSFUL"
    said = f"{newest['status']}, the new revision's weight {share}"
    run.check("ecs.bluegreen.traffic-steps", succeeded and share == 100, said)
    alternate = group_name(outputs["AlternateTargetGroupArn"])
    run.check(
        "ecs.bluegreen.new-tasks-in-idle-group",
        serving(run, site) == alternate,
        f"weights {weights(run, site)}, registered {registered(run, site)}",
    )
    run.check(
        "ecs.service-deployments.listed",
        len(listed) == len(before) + 1,
        f"{len(before)} -> {len(listed)} deployments",
    )
    (listener,) = run.aws.client("elbv2").describe_listeners(
        ListenerArns=[serving_listener(run, site)]
    )["Listeners"]
    default = listener["DefaultActions"][0]["Type"]
    said = f"the listener's default action {default}, the deployment {newest['status']}"
    passed = default == "fixed-response" and succeeded
    # The stand-in refuses neither: only AWS says whether these hold.
    run.check("ecs.bluegreen.fixed-404-default", passed, said, aws_only=True)
    run.check("elbv2.loadbalancer-role-modify-rule", succeeded, said, aws_only=True)

    # ECS left the traffic on AlternateTargetGroup; the service stack's template names
    # TargetGroup as the primary. A change to that stack alone, the image kept:
    was = serving(run, site)
    run.require(deploy(run, site, "--service-only", "--set", "BakeMinutes=2"), "a service change")
    record_service(run, site, "service-stack change")
    now, (_, newest) = serving(run, site), deployments(run, site)
    run.check(
        "cfn.ecs.update-after-traffic-shift",
        newest["status"] == "SUCCESSFUL" and now and now != was,
        f"served by {was}, then {now}; {newest['status']}; requests {run.current.requests}",
    )


def mixed(run):
    site = run.bake("c", **answers(run, "c"))
    run.require(deploy(run, site, *SHORT_BAKE), "the mixed site's deploy")
    cluster = run.outputs(site)["ClusterName"]
    ecs = run.aws.client("ecs")
    providers = ecs.describe_clusters(clusters=[cluster])["clusters"][0]["capacityProviders"]
    run.check(
        "ecs.cluster.capacity-providers", {"FARGATE", "FARGATE_SPOT"} <= set(providers), providers
    )
    arns = ecs.list_tasks(cluster=cluster, serviceName=service(run, site)["serviceName"])[
        "taskArns"
    ]
    tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
    placed = sorted((str(t.get("startedAt")), t.get("capacityProviderName")) for t in tasks)
    run.observe("tasks by start, and their capacity provider", placed)
    providers = [provider for _, provider in placed]
    run.check(
        "ecs.capacity.mixed-first-task-on-demand",
        providers[:1] == ["FARGATE"] and providers.count("FARGATE") == 1,
        placed,
        aws_only=True,  # no task runs on the stand-in
    )


def joining(run):
    host = run.sites["a"]
    site = run.bake("d", **answers(run, "d"))
    status = deploy(run, site, *SHORT_BAKE)
    said = f"the joining site's up exited {status}"
    run.check("cfn.importvalue-inside-if", status == 0, said, aws_only=True)  # moto takes any
    run.require(status, "the joining site's deploy")
    cloudformation = run.aws.cloudformation
    (stack,) = cloudformation.describe_stacks(StackName=f"{host.slug}-resources")["Stacks"]
    importers = {}
    for page in cloudformation.get_paginator("list_exports").paginate():
        for export in page["Exports"]:
            if export["ExportingStackId"] == stack["StackId"]:
                with contextlib.suppress(cloudformation.exceptions.ClientError):  # not imported
                    importers[export["Name"]] = cloudformation.list_imports(
                        ExportName=export["Name"]
                    )["Imports"]
    joined = any(f"{site.slug}-resources" in names for names in importers.values())
    run.check("cfn.list-imports", joined, importers)
    run.check("cfn.exports.in-use-immutable", joined, f"in use: {sorted(importers)}")
    rules = run.aws.client("elbv2").describe_rules(ListenerArn=serving_listener(run, host))["Rules"]
    run.observe("the host listener's rules", [(r["Priority"], r["Conditions"]) for r in rules])


def https_dns(run):
    """With a test zone: site a's domain answers in public DNS, and over HTTPS."""
    domain = run.outputs(run.sites["a"])["DomainName"]
    pages = run.aws.client("route53").get_paginator("list_resource_record_sets")
    validation = [
        record["Name"]
        for page in pages.paginate(HostedZoneId=run.zone["id"])
        for record in page["ResourceRecordSets"]
        if record["Type"] == "CNAME" and record["Name"].startswith("_") and domain in record["Name"]
    ]
    run.check("acm.cfn.validation-record-in-zone", validation, validation)
    run.observe("public DNS", sorted({info[4][0] for info in socket.getaddrinfo(domain, 443)}))
    answer = Stream(f"https://{domain}/").request()
    run.observe(f"GET https://{domain}/", answer)
    if answer != "200":
        raise RuntimeError(f"https://{domain}/ answered {answer}")


def crash_rollback(run):
    """An image that crashes at start, in each site (one per strategy): `up` fails before the
    deadline and the service runs the task definition it ran before. On the stand-in no task
    runs: the deployment's alarms are set to ALARM instead, on which ECS's stand-in rolls back."""
    cloudwatch = run.aws.client("cloudwatch")
    for site in run.sites.values():
        before = service(run, site)
        alarms = before["deploymentConfiguration"].get("alarms", {}).get("alarmNames", [])
        found = [
            a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNames=alarms)["MetricAlarms"]
        ]
        run.check("cloudwatch.alarm.generated-name", sorted(found) == sorted(alarms), found)
        staged = [] if run.on_aws else alarms
        for alarm in staged:
            cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="a crash")
        started = time.monotonic()
        try:
            status = deploy(run, site, *run.new_image(site, "crash"))
        except Hung as hung:
            status = str(hung)
        finally:
            for alarm in staged:
                cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="over")
        after, (_, newest) = service(run, site), deployments(run, site)
        strategy = site.answers["deploy_strategy"]
        back = after["taskDefinition"] == before["taskDefinition"]
        runs = "the task definition before" if back else after["taskDefinition"]
        said = (
            f"{strategy}: up ended ({status}) after {round(time.monotonic() - started)} s, "
            f"deployment {newest['status']}, the service runs {runs}"
        )
        run.observe(f"a crash under {strategy}", said)
        rolled_back = status not in (0, None) and isinstance(status, int) and back
        rolled_back = rolled_back and newest["status"].startswith("ROLLBACK")
        if strategy == "rolling":  # the circuit breaker: no task ever runs on the stand-in
            run.check("ecs.rolling.circuit-breaker", rolled_back, said, aws_only=True)
        else:
            run.check("ecs.deployment.alarm-rollback", rolled_back, said)
        stack = run.aws.cloudformation.describe_stacks(StackName=f"{site.slug}-service")
        status = stack["Stacks"][0]["StackStatus"]
        run.check(
            "cfn.ecs.update-waits-for-deployment",
            status == "UPDATE_ROLLBACK_COMPLETE",
            status,
            aws_only=True,  # the stand-in completes the update at once (standin/deployments.py)
        )


def destroy(run):
    """`destroy` in every site, joining sites first: CloudFormation then lists none of their
    stacks, and what the stacks keep on purpose (the app's secret; a load balancer's access
    logs) is still there, which the cleanup deletes."""
    elbv2 = run.aws.client("elbv2")
    for site in sorted(run.sites.values(), key=lambda site: site.name, reverse=True):
        rule = run.outputs(site).get("ProductionListenerRuleArn")
        status = run.tool(site, "destroy", "--yes")
        if site.name == "a":  # the last, its VPC's deletion included
            run.check("cfn.delete.route-tables-before-vpc", status == 0, f"destroy exited {status}")
        run.require(status, f"destroy {site.slug}")
        run.observe(
            f"{site.slug}: the tagging API after destroy", cleanup.tagged(run.aws, site.slug)
        )
        _, kept = cleanup.leftovers(run.aws, site.slug)
        secrets = [arn for arn in kept if ":secretsmanager:" in arn]
        run.check("tagging.finds-stack-resources", secrets, kept)
        run.check("cfn.tags.stack-resource-tags", secrets, kept)
        wanted = 1 if site.answers.get("host_site") else 2  # a secret, and the access logs
        run.check("cfn.deletion-policy.retain-except-on-create", len(kept) == wanted, kept)
        if site.answers.get("host_site") and rule:
            try:
                gone = not elbv2.describe_rules(RuleArns=[rule])["Rules"]
            except elbv2.exceptions.RuleNotFoundException:
                gone = True
            said = f"{rule.rpartition('/')[2]} {'gone' if gone else 'still'} on the host's listener"
            run.check("elbv2.cfn.rule-leaves-with-stack", gone, said)
    remaining = cleanup.leftovers(run.aws, run.prefix)[0]
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
