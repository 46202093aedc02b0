"""The generated CloudFormation stacks: secure by default, fast rollouts, one template set per site.

Each bake is parsed with cfn-lint's own decoder (short-form tags included). The stacks switch
features with Conditions on parameters whose defaults are the answers, so the assertions evaluate
those conditions for the defaults, the way CloudFormation would on a first deploy.
"""

import json
import re
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
import yaml
from bakery import TEMPLATE, answers_for, bake_cli, load_hook
from cfnlint.api import ManualArgs, lint_by_config
from cfnlint.decode import decode_str

STACKS = ("resources", "service")
CERTIFICATE = "arn:aws:acm:{region}:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
CHECKOV = [Path(sys.prefix, "checkov", "bin", "checkov")]  # its own venv: see the Makefile
NO_VALUE = {"Ref": "AWS::NoValue"}
# TLS 1.3, and TLS 1.2 with ECDHE-{ECDSA,RSA}-AES{128,256}-GCM only: every cipher forward secret.
FORWARD_SECRET_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
# The NAT answer and the stack parameter it sets.
NAT_GATEWAYS = {"none": "0", "shared": "1", "per_zone": "2"}


def combo(answers, id, checkov=False):
    # One xdist group per combination, so its bake is shared by that combination's tests.
    marks = [pytest.mark.xdist_group(f"stacks-{id}")]
    return pytest.param(answers, checkov, id=id, marks=marks)


COMBINATIONS = [
    combo({}, "defaults", checkov=True),
    combo(
        {
            "ssl": "no",
            "nat_gateways": "none",
            "aws_region": "us-east-1",
            "cpu_architecture": "arm64",
            "capacity": "spot",
            "deploy_strategy": "linear",
        },
        "http-nat0-arm64-spot-linear-us-east-1",
        checkov=True,
    ),
    combo(
        {
            "aws_region": "ap-northeast-3",
            "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
            "certificate_arn": CERTIFICATE.format(region="ap-northeast-3"),
            "nat_gateways": "shared",
        },
        "existing-zone-and-certificate-nat1-ap-northeast-3",
    ),
    combo(
        {
            "desired_count": "3",
            "max_count": "3",
            "alarm_email": "ops@example.com",
            "dynamodb_access": "yes",
            "aws_region": "sa-east-1",
            "dns": "external",
            "deploy_strategy": "blue_green",
        },
        "fixed-count-email-dynamodb-dns-external-blue-green-sa-east-1",
        checkov=True,
    ),
    combo(
        {
            "github_repo": "acme/example-site",
            "cpu": "16384",
            "memory": "122880",
            "nat_gateways": "per_zone",
            "aws_region": "eu-south-1",
            "capacity": "mixed",
            "deploy_strategy": "canary",
        },
        "github-cpu16384-mixed-canary-eu-south-1",
        checkov=True,
    ),
    combo(
        {
            "ssl": "no",
            "github_repo": "acme/site",
            "cpu": "8192",
            "memory": "61440",
            "nat_gateways": "shared",
            "aws_region": "ap-southeast-2",
            "dns": "external",
        },
        "http-github-cpu8192-dns-external-ap-southeast-2",
    ),
    # Sites joining another's load balancer (host_site), with and without HTTPS.
    combo(
        {"domain": "blog.example.org", "host_site": "example-com", "github_repo": "acme/blog"},
        "joins-host-github",
        checkov=True,
    ),
    combo(
        {
            "domain": "shop.example.net",
            "host_site": "example-com",
            "ssl": "no",
            "dns": "external",
            "cpu_architecture": "arm64",
            "deploy_strategy": "blue_green",
        },
        "joins-host-http-dns-external-arm64-blue-green",
        checkov=True,
    ),
]


# ---------------------------------------------------------------- helpers


class Site:
    """A baked project with its answers and both decoded templates."""

    def __init__(self, project: Path):
        self.project = project
        self.templates = {
            name: decode(project / "cloudformation" / f"{name}.yaml") for name in STACKS
        }

    def resources(self, stack):
        return self.templates[stack]["Resources"]

    def conditions(self, stack, **parameters):
        """Condition name -> value for the parameter defaults, or the values given instead."""
        template = self.templates[stack]
        defaults = {name: p.get("Default") for name, p in template["Parameters"].items()}
        defaults.update(parameters)
        cache = {}

        def evaluate(node):
            if isinstance(node, dict) and len(node) == 1:
                ((function, args),) = node.items()
                if function == "Fn::Equals":
                    return value(args[0]) == value(args[1])
                if function == "Fn::Not":
                    return not evaluate(args[0])
                if function == "Fn::And":
                    return all(evaluate(a) for a in args)
                if function == "Fn::Or":
                    return any(evaluate(a) for a in args)
                if function == "Condition":
                    return condition(args)
            raise AssertionError(f"unexpected condition syntax: {node!r}")

        def value(node):
            if isinstance(node, dict) and "Ref" in node:
                return str(defaults[node["Ref"]])
            return str(node)

        def condition(name):
            if name not in cache:
                cache[name] = evaluate(template["Conditions"][name])
            return cache[name]

        return {name: condition(name) for name in template.get("Conditions", {})}

    def resolve(self, stack, node, conditions=None):
        """Pick the Fn::If branches the conditions (by default, the parameter defaults') choose,
        and drop what resolves to AWS::NoValue, as CloudFormation does."""
        if conditions is None:
            conditions = self.conditions(stack)
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                name, when_true, when_false = node["Fn::If"]
                chosen = when_true if conditions[name] else when_false
                return self.resolve(stack, chosen, conditions)
            resolved = {key: self.resolve(stack, value, conditions) for key, value in node.items()}
            return {key: value for key, value in resolved.items() if value != NO_VALUE}
        if isinstance(node, list):
            resolved = [self.resolve(stack, item, conditions) for item in node]
            return [item for item in resolved if item != NO_VALUE]
        return node

    def created(self, stack, **parameters):
        """The resources a first deploy with the defaults (or the values given) creates, Fn::If
        resolved."""
        conditions = self.conditions(stack, **parameters)
        return {
            name: self.resolve(stack, resource, conditions)
            for name, resource in self.resources(stack).items()
            if conditions.get(resource.get("Condition"), True)
        }


def decode(path: Path):
    template, matches = decode_str(path.read_text())
    assert not matches, f"{path.name}: {[str(m) for m in matches]}"
    return template


def walk(node, path=()):
    """Yield (path, key, value) for every mapping entry in the template."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from walk(item, (*path, index))


def properties_of(resources, kind):
    return [r["Properties"] for r in resources.values() if r["Type"] == kind]


def as_list(value):
    return value if isinstance(value, list) else [value]


_SITES = {}


@pytest.fixture
def site(request, tmp_path_factory, answers):
    """The bake for this combination, made once per xdist worker."""
    key = request.node.callspec.id
    if key not in _SITES:
        bake = bake_cli(tmp_path_factory.mktemp("stacks"), **answers)
        assert bake.returncode == 0, bake.stderr
        _SITES[key] = Site(bake.project)
    return _SITES[key]


parametrized = pytest.mark.parametrize(("answers", "run_checkov"), COMBINATIONS)


# ---------------------------------------------------------------- security


@parametrized
def test_no_wildcard_principal_and_no_wildcard_action(site, answers, run_checkov):
    for stack in STACKS:
        for path, key, value in walk(site.templates[stack]):
            if key == "Principal":
                principals = (
                    [value]
                    if isinstance(value, str)
                    else [p for entry in value.values() for p in as_list(entry)]
                )
                assert "*" not in principals, f"{stack}: wildcard principal at {path}"
            if key in ("Action", "NotAction"):
                for action in as_list(value):
                    assert action != "*" and not action.endswith(":*"), (
                        f"{stack}: action {action!r} at {path}"
                    )


@parametrized
def test_the_traffic_role_reaches_only_this_sites_rule_and_target_groups(
    site, answers, run_checkov
):
    """ECS takes LoadBalancerRole to move a shifting deploy's traffic: with AWS's managed policy
    it could register tasks in, and move the weights of, any site's target groups and rules."""
    role = site.resources("resources")["LoadBalancerRole"]["Properties"]
    assert "ManagedPolicyArns" not in role
    (policy,) = role["Policies"]
    writes = {
        action: statement["Resource"]
        for statement in policy["PolicyDocument"]["Statement"]
        for action in as_list(statement["Action"])
        if not action.startswith("elasticloadbalancing:Describe")
    }
    assert writes == {
        "elasticloadbalancing:RegisterTargets": [
            {"Ref": "TargetGroup"},
            {"Ref": "AlternateTargetGroup"},
        ],
        "elasticloadbalancing:DeregisterTargets": [
            {"Ref": "TargetGroup"},
            {"Ref": "AlternateTargetGroup"},
        ],
        "elasticloadbalancing:ModifyRule": {"Ref": "ProductionRule"},
    }


@parametrized
def test_the_dynamodb_policy_reaches_no_other_sites_tables(site, answers, run_checkov):
    """Issue 22.4: <slug>-* matched the tables of every site whose slug starts with <slug>-
    (example-com-au-* from example-com). The prefix ends with a character no slug holds."""
    slug = site.project.name
    policy = site.created("service", DynamoDbAccess="true")["DynamoDbPolicy"]["Properties"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    prefix = site.templates["service"]["Parameters"]["DynamoDbTablePrefix"]["Default"]
    hook = load_hook("pre_gen_project", answers_for())
    assert hook.SLUG.fullmatch(f"a{prefix[-1]}b") is None, prefix  # no slug holds it
    account = "arn:aws:dynamodb:eu-west-1:123456789012"
    patterns = [
        r["Fn::Sub"]
        .replace("arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}", account)
        .replace("${DynamoDbTablePrefix}", prefix)
        for r in statement["Resource"]
    ]

    def reachable(arn):
        return any(fnmatchcase(arn, pattern) for pattern in patterns)

    assert reachable(f"{account}:table/{slug}.orders")
    assert reachable(f"{account}:table/{slug}.orders/index/by-date")
    for other in (f"{slug}-au", f"{slug}-shop", f"{slug}2"):  # other sites' slugs
        assert hook.SLUG.fullmatch(other)
        for table in (f"{other}.orders", f"{other}-orders"):
            assert not reachable(f"{account}:table/{table}"), table
            assert not reachable(f"{account}:table/{table}/index/by-date"), table


@parametrized
def test_tasks_accept_traffic_only_from_the_load_balancer(site, answers, run_checkov):
    resources = site.created("resources")
    service_group = {"Ref": "ServiceSecurityGroup"}
    assert "SecurityGroupIngress" not in resources["ServiceSecurityGroup"]["Properties"]
    rules = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress"
        and r["Properties"]["GroupId"] == service_group
    ]
    assert rules == [
        {
            "GroupId": service_group,
            "Description": rules[0]["Description"],
            "IpProtocol": "tcp",
            "FromPort": 8080,
            "ToPort": 8080,
            "SourceSecurityGroupId": (
                {
                    "Fn::ImportValue": {
                        "Fn::Sub": "${HostSite}-resources-LoadBalancerSecurityGroupId"
                    }
                }
                if answers.get("host_site")
                else {"Ref": "LoadBalancerSecurityGroup"}
            ),
        }
    ]
    if not answers.get("host_site"):
        # The load balancer sends to the tasks' port inside the VPC only: its own sites' and
        # those joining it, without their stacks editing its group.
        balancer = resources["LoadBalancerSecurityGroup"]["Properties"]
        (egress,) = balancer["SecurityGroupEgress"]
        assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"]) == ("tcp", 8080, 8080)
        assert egress["CidrIp"] == resources["Vpc"]["Properties"]["CidrBlock"]
    # The service stack runs the tasks in that group and opens nothing itself.
    service = site.resources("service")
    assert not [r for r in service.values() if r["Type"].startswith("AWS::EC2::SecurityGroup")]
    network = service["Service"]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["SecurityGroups"] == [
        {"Fn::ImportValue": {"Fn::Sub": "${ResourcesStackName}-ServiceSecurityGroupId"}}
    ]


@parametrized
def test_redirect_listener_exactly_when_ssl(site, answers, run_checkov):
    ssl = answers.get("ssl", "yes") == "yes"
    created = site.created("resources")
    assert ("Certificate" in created) == (ssl and not answers.get("certificate_arn"))
    if answers.get("host_site"):  # the host's listeners; its certificate beside the host's
        assert not {"HttpListener", "HttpsListener"} & set(created)
        assert ("HostListenerCertificate" in created) == ssl
        return
    assert "HostListenerCertificate" not in created
    # A name no site on the load balancer serves: a 404, never some site's page.
    not_found = {
        "Type": "fixed-response",
        "FixedResponseConfig": {
            "StatusCode": "404",
            "ContentType": "text/plain",
            "MessageBody": "No site here by that name.",
        },
    }
    http_actions = created["HttpListener"]["Properties"]["DefaultActions"]
    if ssl:
        (redirect,) = http_actions
        assert redirect["Type"] == "redirect"
        assert redirect["RedirectConfig"]["Protocol"] == "HTTPS"
        assert redirect["RedirectConfig"]["StatusCode"] == "HTTP_301"
        https = created["HttpsListener"]["Properties"]
        assert https["Port"] == 443 and https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")
        # Issue 22.7: forward secrecy for every cipher (TLS 1.2 with ECDHE and AES-GCM only),
        # the policy AWS recommends ("Security policies for your Application Load Balancer").
        assert https["SslPolicy"] == FORWARD_SECRET_TLS_POLICY
        assert https["DefaultActions"] == [not_found]
    else:
        assert http_actions == [not_found]
        assert "HttpsListener" not in created


def nginx_seconds(project, directive):
    conf = (project / "container" / "nginx.conf").read_text()
    return int(re.search(rf"^\s*{directive} (\d+)s;", conf, re.MULTILINE)[1])


@parametrized
def test_rollout_step_takes_half_a_minute_and_cuts_no_request(site, answers, run_checkov):
    target_group = site.resources("resources")["TargetGroup"]["Properties"]
    attributes = {a["Key"]: a["Value"] for a in target_group["TargetGroupAttributes"]}
    interval = target_group["HealthCheckIntervalSeconds"]
    draining = int(attributes["deregistration_delay.timeout_seconds"])
    longest_request = nginx_seconds(site.project, "proxy_read_timeout")

    assert interval * target_group["HealthyThresholdCount"] + draining <= 30
    assert draining >= longest_request  # a stopping task's requests all finish
    assert target_group["HealthCheckTimeoutSeconds"] < interval
    # A task busy with the slowest requests allowed fails checks for a while, not for good.
    assert target_group["UnhealthyThresholdCount"] * interval > longest_request
    assert target_group["HealthCheckPath"] == "/health"


def entrypoint_seconds(project, name):
    entrypoint = (project / "container" / "entrypoint").read_text()
    return int(re.search(rf"^{name} = (\d+)$", entrypoint, re.MULTILINE)[1])


@parametrized
def test_a_stopping_task_leaves_the_load_balancer_then_drains_before_sigkill(
    site, answers, run_checkov
):
    target_group = site.resources("resources")["TargetGroup"]["Properties"]
    interval = target_group["HealthCheckIntervalSeconds"]
    (container,) = site.resources("service")["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    leave, quiet, drain = (
        entrypoint_seconds(site.project, name)
        for name in ("LEAVE_SECONDS", "QUIET_SECONDS", "DRAIN_SECONDS")
    )

    # A registered task (Spot) gets a check every interval: it never takes itself for gone.
    assert quiet > interval
    # By then the load balancer has counted its checks failed: the first within an interval,
    # the last failure UnhealthyThresholdCount - 1 intervals later.
    assert leave > interval * target_group["UnhealthyThresholdCount"]
    assert leave + drain < container["StopTimeout"] <= 120  # Fargate's most


# ---------------------------------------------------------------- answers reach the stacks


def expected_defaults(answers):
    full = {
        "domain": "example.com",
        "ssl": "yes",
        "dns": "route53",
        "hosted_zone_id": "",
        "certificate_arn": "",
        "cpu": "256",
        "memory": "512",
        "cpu_architecture": "x86_64",
        "capacity": "on_demand",
        "desired_count": "2",
        "max_count": "4",
        "nat_gateways": "none",
        "alarm_email": "",
        "dynamodb_access": "no",
        "github_repo": "",
        "github_subject": "ids",
        "deploy_strategy": "rolling",
        "host_site": "",
        **answers,
    }
    slug = full["domain"].replace(".", "-")  # the combinations' domains slugify so
    flag = {"yes": "true", "no": "false"}
    return {
        "resources": {
            "DomainName": full["domain"],
            "DnsProvider": full["dns"],
            "HostedZoneId": full["hosted_zone_id"],
            "CertificateArn": full["certificate_arn"],
            "EnableHttps": flag[full["ssl"]],
            "NatGateways": NAT_GATEWAYS[full["nat_gateways"]],
            "GithubRepo": full["github_repo"],
            "GithubOidcProviderArn": "",
            "GithubSubject": full["github_subject"],
            "GithubOwnerId": "",
            "GithubRepoId": "",
            "AlbIdleTimeout": 60,
            "LogRetentionDays": 30,
            "EnableIpv6": "true",
            "ServiceStackName": f"{slug}-service",
            "ListenerRulePriority": 1000,
            # Only a template generated with host_site names a host (and then may join one).
            **({"HostSite": full["host_site"], "HostListenerArn": ""} if full["host_site"] else {}),
        },
        "service": {
            "ResourcesStackName": f"{slug}-resources",
            "Cpu": full["cpu"],
            "Memory": full["memory"],
            "DesiredCount": int(full["desired_count"]),
            "MaxCount": int(full["max_count"]),
            "CpuArchitecture": full["cpu_architecture"].upper(),
            "Capacity": full["capacity"],
            "DeploymentStrategy": full["deploy_strategy"].upper(),
            "BakeMinutes": 5,
            "EnableExecuteCommand": "false",
            "AlarmEmail": full["alarm_email"],
            "DynamoDbAccess": flag[full["dynamodb_access"]],
            "DynamoDbTablePrefix": f"{slug}.",
            "LoadBalancerStackName": f"{full['host_site'] or slug}-resources",
        },
    }


@parametrized
def test_every_strategy_rolls_back_on_the_alarms_and_shifts_traffic_through_the_rule(
    site, answers, run_checkov
):
    strategy = answers.get("deploy_strategy", "rolling").upper()
    service = site.resolve("service", site.resources("service")["Service"]["Properties"])
    configuration = service["DeploymentConfiguration"]
    rolling = strategy == "ROLLING"
    assert configuration["Strategy"] == ("ROLLING" if rolling else {"Ref": "DeploymentStrategy"})
    assert configuration["Alarms"] == {
        "AlarmNames": [
            # Counted per load balancer only: a site on a host's shared one has no such alarm.
            *([] if answers.get("host_site") else [{"Ref": "LoadBalancer5xxAlarm"}]),
            {"Ref": "Target5xxAlarm"},
            {"Ref": "ResponseTimeP99Alarm"},
            # No circuit breaker, no production traffic yet: new tasks that never turn healthy.
            *([] if rolling else [{"Ref": "UnhealthyHostsAlarm"}]),
        ],
        "Enable": True,
        "Rollback": True,
    }
    # Issue 20.2: the circuit breaker wherever AWS documents it, rolling and blue/green
    # ("Amazon ECS deployment failure detection"); the linear and canary pages name alarms only.
    breaker = strategy in ("ROLLING", "BLUE_GREEN")
    assert configuration.get("DeploymentCircuitBreaker") == (
        {"Enable": True, "Rollback": True} if breaker else None
    )
    assert ("BakeTimeInMinutes" in configuration) == (not rolling)
    assert ("CanaryConfiguration" in configuration) == (strategy == "CANARY")
    assert ("LinearConfiguration" in configuration) == (strategy == "LINEAR")
    (balanced,) = service["LoadBalancers"]
    assert ("AdvancedConfiguration" in balanced) == (not rolling)
    # The rule ECS moves the weights of is on the listener the site answers on.
    rule = site.resolve("resources", site.resources("resources")["ProductionRule"]["Properties"])
    listener = "HttpsListener" if answers.get("ssl", "yes") == "yes" else "HttpListener"
    # On the host's listener for a joining site (the deploy tool passes the one it serves on).
    assert rule["ListenerArn"] == {
        "Ref": "HostListenerArn" if answers.get("host_site") else listener
    }
    # The site's two names, so that names no site serves reach the listener's 404; priority 1000
    # on a load balancer of its own (rules that must win over the site get 1-999), and what the
    # deploy tool chooses on a host's.
    assert rule["Conditions"] == [
        {
            "Field": "host-header",
            "HostHeaderConfig": {
                "Values": [{"Ref": "DomainName"}, {"Fn::Sub": "www.${DomainName}"}]
            },
        }
    ]
    assert rule["Priority"] == {"Ref": "ListenerRulePriority"}
    (forward,) = rule["Actions"]
    assert [
        (g["TargetGroupArn"]["Ref"], g["Weight"]) for g in forward["ForwardConfig"]["TargetGroups"]
    ] == [
        ("TargetGroup", 1),
        ("AlternateTargetGroup", 0),
    ]


@parametrized
def test_mixed_capacity_keeps_the_first_task_on_demand(site, answers, run_checkov):
    """Issue 20.4: ECS places a provider's base before any weight counts
    (CapacityProviderStrategyItem), so FARGATE Base 1 Weight 0 keeps one task on demand and
    FARGATE_SPOT Weight 1 takes every further one (AWS Copilot's spot_from does the same)."""
    strategies = {
        capacity: site.created("service", Capacity=capacity)["Service"]["Properties"][
            "CapacityProviderStrategy"
        ]
        for capacity in ("on_demand", "spot", "mixed")
    }
    assert strategies == {
        "on_demand": [{"CapacityProvider": "FARGATE", "Weight": 1}],
        "spot": [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}],
        "mixed": [
            {"CapacityProvider": "FARGATE", "Base": 1, "Weight": 0},
            {"CapacityProvider": "FARGATE_SPOT", "Weight": 1},
        ],
    }
    # Only one provider of a strategy may have a base (CapacityProviderStrategyItem).
    assert [item for item in strategies["mixed"] if "Base" in item] == [strategies["mixed"][0]]


@parametrized
def test_unhealthy_tasks_in_either_target_group_alarm_and_requests_scale_rolling_only(
    site, answers, run_checkov
):
    rolling = answers.get("deploy_strategy", "rolling") == "rolling"
    autoscale = answers.get("max_count", "4") != answers.get("desired_count", "2")
    alternate = (
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/alt/0123456789abcdef"
    )
    created = site.created("service", AlternateTargetGroupArn=alternate)
    # ALBRequestCountPerTarget follows one target group, empty after every other shift.
    assert ("RequestScaling" in created) == (autoscale and rolling)
    assert ("CpuScaling" in created) == autoscale
    metrics = created["UnhealthyHostsAlarm"]["Properties"]["Metrics"]
    assert metrics[0]["Expression"] == "MAX([first, second])"
    groups = [m["MetricStat"]["Metric"]["Dimensions"][1]["Value"] for m in metrics[1:]]
    assert groups[0] == {
        "Fn::ImportValue": {"Fn::Sub": "${ResourcesStackName}-TargetGroupFullName"}
    }
    assert groups[1] == {
        "Fn::Select": [5, {"Fn::Split": [":", {"Ref": "AlternateTargetGroupArn"}]}]
    }
    assert alternate.split(":")[5] == "targetgroup/alt/0123456789abcdef"


@parametrized
def test_the_sites_alarms_watch_its_own_target_groups_not_a_shared_load_balancer(
    site, answers, run_checkov
):
    alternate = (
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/alt/0123456789abcdef"
    )
    created = site.created("service", AlternateTargetGroupArn=alternate)
    alarms = {
        name: r["Properties"]
        for name, r in created.items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    # The load balancer's own 5XX are counted per load balancer only: a host's alone.
    assert ("LoadBalancer5xxAlarm" in alarms) == (not answers.get("host_site"))
    balancer = {"Fn::ImportValue": {"Fn::Sub": "${LoadBalancerStackName}-LoadBalancerFullName"}}
    for name, expression in (
        ("Target5xxAlarm", "SUM([first, second])"),
        ("ResponseTimeP99Alarm", "MAX([first, second])"),
        ("UnhealthyHostsAlarm", "MAX([first, second])"),
    ):
        combined, *metrics = alarms[name]["Metrics"]
        assert combined["Expression"] == expression, name
        dimensions = [m["MetricStat"]["Metric"]["Dimensions"] for m in metrics]
        assert [[d["Name"] for d in each] for each in dimensions] == [
            ["LoadBalancer", "TargetGroup"]
        ] * 2, name
        assert all(each[0]["Value"] == balancer for each in dimensions), name


@parametrized
def test_the_longest_deploy_fits_the_github_jobs_time_and_credentials(site, answers, run_checkov):
    if not answers.get("github_repo"):
        pytest.skip("no GitHub workflow without github_repo")
    bake = site.templates["service"]["Parameters"]["BakeMinutes"]["MaxValue"]
    # ECS's own limit: a canary's two bakes, a linear's four, at most 33 hours in all.
    assert 4 * bake <= 33 * 60
    job = yaml.safe_load((site.project / ".github" / "workflows" / "deploy.yml").read_text())
    deploy = job["jobs"]["deploy"]
    (credentials,) = [
        s for s in deploy["steps"] if "configure-aws-credentials" in s.get("uses", "")
    ]
    role = site.resources("resources")["DeployRole"]["Properties"]
    # LINEAR bakes 4 times; an hour on top for the checks, the image build and the tasks' start.
    assert deploy["timeout-minutes"] >= 4 * bake + 60
    assert credentials["with"]["role-duration-seconds"] >= deploy["timeout-minutes"] * 60
    assert role["MaxSessionDuration"] >= credentials["with"]["role-duration-seconds"]


@parametrized
def test_parameter_defaults_are_the_answers(site, answers, run_checkov):
    for stack, expected in expected_defaults(answers).items():
        parameters = site.templates[stack]["Parameters"]
        defaults = {name: p["Default"] for name, p in parameters.items() if "Default" in p}
        assert defaults == expected, stack
    assert "Default" not in site.templates["service"]["Parameters"]["ImageTag"]


@parametrized
def test_conditional_parts_follow_the_answers(site, answers, run_checkov):
    resources = site.created("resources")
    nat = NAT_GATEWAYS[answers.get("nat_gateways", "none")]
    assert len([r for r in resources.values() if r["Type"] == "AWS::EC2::NatGateway"]) == int(nat)
    route53 = answers.get("dns", "route53") == "route53"
    assert ("HostedZone" in resources) == (route53 and not answers.get("hosted_zone_id"))
    # DNS at another provider: no record here, and the certificate names no zone to write into.
    assert ("SiteRecords" in resources) == route53
    if "Certificate" in resources:
        validation = resources["Certificate"]["Properties"].get("DomainValidationOptions")
        assert bool(validation) == route53
    assert ("DeployRole" in resources) == bool(answers.get("github_repo"))

    service = site.created("service")
    assert ("ScalableTarget" in service) == (
        answers.get("max_count", "4") != answers.get("desired_count", "2")
    )
    assert ("AlarmEmailSubscription" in service) == bool(answers.get("alarm_email"))
    assert ("DynamoDbPolicy" in service) == (answers.get("dynamodb_access") == "yes")


@parametrized
def test_aaaa_records_and_a_dualstack_load_balancer_exactly_with_ipv6(site, answers, run_checkov):
    joins = bool(answers.get("host_site"))
    to_load_balancer = (
        {  # the host's, which the deploy tool gives the host's EnableIpv6 to follow
            "DNSName": {
                "Fn::ImportValue": {"Fn::Sub": "${HostSite}-resources-LoadBalancerDnsName"}
            },
            "HostedZoneId": {
                "Fn::ImportValue": {"Fn::Sub": "${HostSite}-resources-LoadBalancerZoneId"}
            },
        }
        if joins
        else {
            "DNSName": {"Fn::GetAtt": ["LoadBalancer", "DNSName"]},
            "HostedZoneId": {"Fn::GetAtt": ["LoadBalancer", "CanonicalHostedZoneID"]},
        }
    )
    in_route53 = answers.get("dns", "route53") == "route53"
    names = [{"Ref": "DomainName"}, {"Fn::Sub": "www.${DomainName}"}] if in_route53 else []
    for ipv6 in (True, False):
        resources = site.created("resources", EnableIpv6=str(ipv6).lower())
        records = [
            record
            for group in properties_of(resources, "AWS::Route53::RecordSetGroup")
            for record in group["RecordSets"]
        ]
        for record_type, expected in (("A", names), ("AAAA", names if ipv6 else [])):
            typed = [r for r in records if r["Type"] == record_type]
            assert [r["Name"] for r in typed] == expected, (ipv6, record_type)
            assert all(r["AliasTarget"] == to_load_balancer for r in typed), (ipv6, record_type)
        if joins:
            continue
        load_balancer = resources["LoadBalancer"]["Properties"]
        assert load_balancer["IpAddressType"] == ("dualstack" if ipv6 else "ipv4")
        # Dualstack needs IPv6 in the load balancer's subnets and a route out, which stay
        # whatever EnableIpv6 says: EC2 refuses to take a subnet's IPv6 range back while the
        # load balancer holds addresses in it, so turning IPv6 off must change no subnet.
        # The tasks' private subnets stay IPv4.
        public = {subnet["Ref"] for subnet in load_balancer["Subnets"]}
        with_ipv6 = {
            name
            for name, r in resources.items()
            if r["Type"] == "AWS::EC2::Subnet" and "Ipv6CidrBlock" in r["Properties"]
        }
        assert with_ipv6 == public
        ipv6_routes = [
            r["DestinationIpv6CidrBlock"]
            for r in properties_of(resources, "AWS::EC2::Route")
            if "DestinationIpv6CidrBlock" in r
        ]
        assert ipv6_routes == ["::/0"]
        ipv6_ports = sorted(
            r["FromPort"]
            for r in properties_of(resources, "AWS::EC2::SecurityGroupIngress")
            if r.get("CidrIpv6") == "::/0"
        )
        assert ipv6_ports == ([80, 443] if ipv6 else [])


@pytest.mark.parametrize(
    ("answers", "run_checkov"), [c for c in COMBINATIONS if c.values[0].get("github_repo")]
)
def test_deploy_role_trusts_only_the_main_branch(site, answers, run_checkov):
    role = site.created("resources")["DeployRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    claims = statement["Condition"]["StringEquals"]
    assert claims["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    # GitHub's subject for main: with the owner's and repository's ids for repositories made or
    # renamed since 2026-07-15 (GithubSubject ids, the default), names only for older ones.
    owner_and_name = {
        "Owner": {"Fn::Select": [0, {"Fn::Split": ["/", {"Ref": "GithubRepo"}]}]},
        "Name": {"Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "GithubRepo"}]}]},
    }
    assert claims["token.actions.githubusercontent.com:sub"] == {
        "Fn::Sub": [
            "repo:${Owner}@${GithubOwnerId}/${Name}@${GithubRepoId}:ref:refs/heads/main",
            owner_and_name,
        ]
    }
    older = site.created("resources", GithubSubject="names")["DeployRole"]["Properties"]
    (older_statement,) = older["AssumeRolePolicyDocument"]["Statement"]
    assert older_statement["Condition"]["StringEquals"][
        "token.actions.githubusercontent.com:sub"
    ] == {"Fn::Sub": "repo:${GithubRepo}:ref:refs/heads/main"}
    # CloudFormation refuses the ids form without the ids, before it changes anything.
    (assertion,) = site.templates["resources"]["Rules"]["GithubIdsGiven"]["Assertions"]
    assert "GithubOwnerId" in json.dumps(assertion) and "GithubRepoId" in json.dumps(assertion)
    (policy,) = role["Policies"]
    passable = [
        s for s in policy["PolicyDocument"]["Statement"] if "iam:PassRole" in as_list(s["Action"])
    ]
    # This site's roles only: the tasks' to ECS's tasks, the traffic role to ECS itself.
    assert [(s["Resource"], s["Condition"]) for s in passable] == [
        (
            {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AWS::StackName}/*"},
            {"StringEqualsIfExists": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        ),
        (
            {"Fn::GetAtt": ["LoadBalancerRole", "Arn"]},
            {"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}},
        ),
    ]


@parametrized
def test_no_subnet_depends_on_a_parameter(site, answers, run_checkov):
    """EC2 refuses to delete a subnet holding tasks' or the load balancer's addresses, or to take
    its IPv6 range back: no --set may remove or change one (the deploy tool moves tasks). A
    joining site has none, and the deploy tool refuses to change HostSite of a deployed site."""
    resources = site.resources("resources")
    joins = bool(answers.get("host_site"))
    for name, resource in resources.items():
        if resource["Type"] in ("AWS::EC2::Subnet", "AWS::EC2::SubnetRouteTableAssociation"):
            assert resource.get("Condition") == ("OwnsNetwork" if joins else None), name
            referenced = set(parameters_referenced(site, "resources", resource["Properties"]))
            assert referenced == set(), name


def parameters_referenced(site, stack, node):
    """The parameters a template node depends on, through Ref, Sub, Fn::If and conditions."""
    template = site.templates[stack]
    parameters = template["Parameters"]
    for _path, key, value in walk(node):
        if key == "Ref" and value in parameters:
            yield value
        elif key == "Fn::Sub":
            text = value if isinstance(value, str) else value[0]
            yield from (name for name in re.findall(r"\$\{(\w+)\}", text) if name in parameters)
        elif key in ("Fn::If", "Condition"):
            condition = value[0] if key == "Fn::If" else value
            yield from parameters_referenced(site, stack, template["Conditions"][condition])


@parametrized
def test_no_export_carries_a_value_a_parameter_can_change(site, answers, run_checkov):
    """CloudFormation refuses to change or remove an export another stack imports, so an export
    that followed a parameter would fail the update that changes it."""
    for stack in STACKS:
        for name, output in site.templates[stack].get("Outputs", {}).items():
            if "Export" in output:
                # Only on HostSite (a template generated with host_site), which the deploy tool
                # refuses to change on a deployed site.
                assert output.get("Condition", "OwnsNetwork") == "OwnsNetwork", name
                referenced = set(parameters_referenced(site, stack, output["Value"]))
                assert referenced <= {"HostSite"}, name


@parametrized
def test_the_service_stack_takes_no_parameter_cloudformation_checks_against_the_account(
    site, answers, run_checkov
):
    """CloudFormation checks AWS-specific parameter types (List<AWS::EC2::Subnet::Id>, ...) with
    the caller's rights; the GitHub deploy role has no EC2 or SSM read rights to lend it."""
    for name, parameter in site.templates["service"]["Parameters"].items():
        kind = parameter["Type"]
        assert not kind.startswith(("AWS::", "List<AWS::")), f"{name}: {kind}"


@parametrized
def test_tasks_may_reach_out_over_ipv4_and_ipv6(site, answers, run_checkov):
    """In the public subnets (no NAT) tasks get an IPv6 address: without an IPv6 way out, an app
    preferring IPv6 waits out a connect timeout on every dual-stack host."""
    egress = site.resources("resources")["ServiceSecurityGroup"]["Properties"][
        "SecurityGroupEgress"
    ]
    assert {(rule.get("CidrIp"), rule.get("CidrIpv6")) for rule in egress} == {
        ("0.0.0.0/0", None),
        (None, "::/0"),
    }


@parametrized
def test_the_root_filesystem_is_writable_exactly_when_ecs_exec_is_on(site, answers, run_checkov):
    """ECS Exec's agent writes to the root filesystem; without Exec it stays read-only."""
    for exec_on in ("true", "false"):
        created = site.created("service", EnableExecuteCommand=exec_on)
        (container,) = created["TaskDefinition"]["Properties"]["ContainerDefinitions"]
        assert container["ReadonlyRootFilesystem"] is (exec_on == "false"), exec_on
        assert created["Service"]["Properties"]["EnableExecuteCommand"] is (exec_on == "true")


@pytest.mark.parametrize(
    ("answers", "run_checkov"), [c for c in COMBINATIONS if c.values[0].get("github_repo")]
)
def test_deploy_role_may_stop_this_sites_service_deployments(site, answers, run_checkov):
    """CloudFormation stops a deployment in progress when it rolls an update back."""
    (policy,) = site.created("resources")["DeployRole"]["Properties"]["Policies"]
    (statement,) = [
        s
        for s in policy["PolicyDocument"]["Statement"]
        if "ecs:StopServiceDeployment" in as_list(s["Action"])
    ]
    assert {
        "Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service-deployment/${Cluster}/*"
    } in statement["Resource"]


@pytest.mark.parametrize(
    ("answers", "run_checkov"), [c for c in COMBINATIONS if c.values[0].get("github_repo")]
)
def test_the_accounts_github_oidc_provider_is_never_deleted_with_a_site(site, answers, run_checkov):
    provider = site.resources("resources")["GithubOidcProvider"]
    assert provider["DeletionPolicy"] == provider["UpdateReplacePolicy"] == "Retain"


@parametrized
def test_stateful_resources_say_what_becomes_of_them(site, answers, run_checkov):
    """Issue 22.8: cfn-lint's informational I3011 finds no stateful resource left to
    CloudFormation's default (delete), and the site's secrets outlive its stack: CloudFormation
    deletes a secret without Secrets Manager's recovery window (cloudformation-coverage-roadmap
    #1999)."""
    stacks = [str(site.project / "cloudformation" / f"{name}.yaml") for name in STACKS]
    matches = lint_by_config(ManualArgs(templates=stacks, include_checks=["I"]))
    assert [str(m) for m in matches if m.rule.id == "I3011"] == []
    resources = site.resources("resources")
    policies = {
        name: (resources[name]["DeletionPolicy"], resources[name]["UpdateReplacePolicy"])
        for name in ("Secrets", "LogGroup", "Repository", "HostedZone")
    }
    assert policies == {
        "Secrets": ("RetainExceptOnCreate", "Retain"),
        # Fixed names: a kept one would make creating the site again fail.
        "LogGroup": ("Delete", "Delete"),
        "Repository": ("Delete", "Delete"),
        # Route 53 refuses to delete a zone holding records added by hand.
        "HostedZone": ("Delete", "Delete"),
    }
    # A kept secret never blocks a site made again: CloudFormation names it.
    assert "Name" not in resources["Secrets"]["Properties"]


# ---------------------------------------------------------------- side by side


def test_two_sites_share_no_export_name(tmp_path):
    names = []
    for domain in ("example.com", "example.org"):
        bake = bake_cli(tmp_path / domain, domain=domain)
        assert bake.returncode == 0, bake.stderr
        template = decode(bake.project / "cloudformation" / "resources.yaml")
        stack_name = f"{bake.project.name}-resources"
        exports = [
            o["Export"]["Name"]["Fn::Sub"] for o in template["Outputs"].values() if "Export" in o
        ]
        assert exports and all(e.startswith("${AWS::StackName}-") for e in exports)
        names.append({e.replace("${AWS::StackName}", stack_name) for e in exports})
    assert not names[0] & names[1]


# ---------------------------------------------------------------- checkov


# checkov takes seconds per run: a few combinations only.
@pytest.mark.parametrize(("answers", "run_checkov"), [c for c in COMBINATIONS if c.values[1]])
def test_checkov_finds_nothing(site, answers, run_checkov):
    completed = subprocess.run(
        [
            *CHECKOV,
            "--skip-download",
            "--framework",
            "cloudformation",
            "--directory",
            str(site.project / "cloudformation"),
            "--output",
            "json",
        ],
        check=False,  # exit status 1 means failed checks: the report below names them
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(completed.stdout)
    assert report["summary"]["failed"] == 0, [
        c["check_id"] for c in report["results"]["failed_checks"]
    ]
    assert report["summary"]["passed"] > 40
    # Every skip carries a reason in the template and is listed in the docs' security page.
    security = (TEMPLATE / "docs" / "security.md").read_text().split("## Static checks", 1)[1]
    for check in report["results"]["skipped_checks"]:
        assert check["check_result"].get("suppress_comment"), check["check_id"]
        assert re.search(rf"\b{check['check_id']}\b", security), (
            f"{check['check_id']} missing from README"
        )


def test_load_balancer_idle_timeout_lies_between_the_longest_request_and_nginx_keepalive(
    default_bake,
):
    """A backend closing idle connections before the ALB does makes the ALB answer 502; an ALB
    that gives up on a silent request before nginx does answers 504 to a request still running."""
    resources = decode(default_bake / "cloudformation" / "resources.yaml")
    idle = resources["Parameters"]["AlbIdleTimeout"]
    keepalive = nginx_seconds(default_bake, "keepalive_timeout")
    longest_request = nginx_seconds(default_bake, "proxy_read_timeout")
    assert longest_request < idle["Default"] <= idle["MaxValue"] < keepalive


@parametrized
def test_a_site_of_its_own_names_no_host_and_imports_nothing(site, answers, run_checkov):
    """CloudFormation documents no Fn::ImportValue inside Fn::If, not even in the branch not
    taken: only a template generated with host_site holds the joining parts."""
    text = json.dumps(site.templates["resources"])  # not its comments
    joins = bool(answers.get("host_site"))
    for word in ("ImportValue", "HostSite", "OwnsNetwork", "HostListenerCertificate"):
        assert (word in text) == joins, word
