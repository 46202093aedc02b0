"""What the site costs at rest each month, and how long a rollout waits on health checks and
on its deploy strategy's bakes.

The template's generation hook imports this module before the project has a virtualenv, so it
needs only the standard library, and to read the stacks cfn-lint's decoder or else PyYAML (which
comes with cookiecutter). Prices live in prices.json beside it.
"""

import json
from dataclasses import dataclass, replace
from pathlib import Path

PRICES = Path(__file__).with_name("prices.json")
HOURS_PER_MONTH = 730  # the month AWS's own price pages and calculator use
# The nat_gateways answer -> NAT gateways it creates (the resources stack's NatGateways).
NAT_GATEWAYS = {"none": 0, "shared": 1, "per_zone": 2}
# The cpu_architecture answer -> its Fargate prices in prices.json (per vCPU-hour, per GB-hour).
FARGATE_PRICES = {
    "x86_64": ("fargate_vcpu_hour", "fargate_gb_hour"),
    "arm64": ("fargate_arm_vcpu_hour", "fargate_arm_gb_hour"),
}
CAPACITIES = ("on_demand", "spot", "mixed")
# An internet-facing load balancer holds a public IPv4 address in each of its two zones.
LOAD_BALANCER_ADDRESSES = 2
# A site joining another's load balancer, at the questions' defaults (cookiecutter.json): 2 tasks
# of 0.25 vCPU and 0.5 GB, x86_64, on demand, rolling deploys with autoscaling up to 4 tasks.
JOINER_DEFAULTS = {"tasks": 2, "cpu": 256, "memory": 512}
JOINER_SERVICE_DEFAULTS = {"DesiredCount": "2", "MaxCount": "4", "DeploymentStrategy": "ROLLING"}
# Application Auto Scaling creates a scale-out and a scale-in alarm for each target tracking policy.
ALARMS_PER_TARGET_TRACKING_POLICY = 2
# What bounds a rollout step from below: the load balancer checks a target at most every 5 s and
# wants 2 passed checks at least (Application Load Balancers user guide, "Health checks for
# Application Load Balancer target groups").
SHORTEST_HEALTH_CHECK_INTERVAL = 5
FEWEST_HEALTHY_CHECKS = 2

# The service stack's AllowedValues, in cookiecutter.json's order (its answers, upper case).
STRATEGIES = ("ROLLING", "BLUE_GREEN", "CANARY", "LINEAR")
# The share of the traffic on the new tasks after each shift (service.yaml's CanaryPercent and
# StepPercent); ROLLING moves no traffic between target groups: new tasks join the old ones.
TRAFFIC_STEPS = {
    "ROLLING": (),
    "BLUE_GREEN": (100,),
    "CANARY": (10, 100),
    "LINEAR": (25, 50, 75, 100),
}
WORDS = {
    "ROLLING": "rolling: new tasks replace the old a few at a time",
    "BLUE_GREEN": "blue_green: a full new set of tasks takes all the traffic at once",
    "CANARY": "canary: 10 % of the traffic on a full new set of tasks, then all of it",
    "LINEAR": "linear: 25 % more of the traffic on a full new set of tasks at each step",
}


def bakes(strategy: str) -> int:
    """How many times BakeMinutes a deploy waits: after each shift but the last (the step's
    bake), and after the last (the old tasks kept, ECS's BakeTimeInMinutes)."""
    return len(TRAFFIC_STEPS[strategy])


def rollout_words(
    strategy: str, bake_minutes: int, step_seconds: int, tasks: int, tasks_hourly: float
) -> str:
    """What a deploy with this strategy takes in time and tasks, in one sentence; `tasks_hourly`
    is what the site's tasks cost an hour (the second set costs as much while it runs)."""
    if strategy == "ROLLING":
        return (
            f"{WORDS[strategy]} ({step_seconds} s a step once a task has started); ECS then"
            " watches the 5XX and p99 alarms for a time it computes from their settings (their"
            " longest window is 5 minutes) before the deploy counts as done."
        )
    steps = " → ".join(f"{share} %" for share in TRAFFIC_STEPS[strategy])
    minutes = bakes(strategy) * bake_minutes
    return (
        f"{WORDS[strategy]} ({steps}), {bake_minutes} min watched after each shift, the old"
        f" tasks kept for the last: about {minutes} min and {step_seconds} s a deploy, during"
        f" which {2 * tasks} tasks run instead of {tasks} (about"
        f" ${tasks_hourly * minutes / 60:.3f} more a deploy); an alarm rolls the traffic back at"
        " once."
    )


@dataclass(frozen=True)
class Site:
    nat_gateways: int
    tasks: int
    cpu: int  # units: 1024 = 1 vCPU
    memory: int  # MiB
    creates_hosted_zone: bool
    alarms: int
    architecture: str = "x86_64"  # a cpu_architecture answer
    capacity: str = "on_demand"  # a capacity answer
    secrets: int = 0  # Secrets Manager secrets the stacks keep (the app's secrets: one)
    # On another site's load balancer (host_site): no load balancer or NAT gateway of its own,
    # and nat_gateways is then the host's, which decides where the tasks run.
    joins_host: bool = False

    @property
    def on_spot(self) -> int:
        """Tasks on Fargate Spot: mixed keeps the first on demand (the service's strategy)."""
        return {"on_demand": 0, "spot": self.tasks, "mixed": max(self.tasks - 1, 0)}[self.capacity]

    @property
    def public_addresses(self) -> int:
        tasks_in_public_subnets = self.tasks if self.nat_gateways == 0 else 0
        if self.joins_host:
            return tasks_in_public_subnets
        return LOAD_BALANCER_ADDRESSES + self.nat_gateways + tasks_in_public_subnets


@dataclass(frozen=True)
class Rollout:
    interval: int  # seconds between two health checks
    healthy_threshold: int  # passed checks before a new task takes traffic
    deregistration_delay: int  # seconds an old task keeps draining
    strategy: str = "ROLLING"  # the service stack's DeploymentStrategy
    bake_minutes: int = 5  # and its BakeMinutes

    @property
    def seconds(self) -> int:
        return self.interval * self.healthy_threshold + self.deregistration_delay


def load_prices(path: Path = PRICES) -> dict:
    return json.loads(path.read_text())


def site_from_answers(answers: dict, alarms: int, secrets: int = 0) -> Site:
    return Site(
        nat_gateways=NAT_GATEWAYS[answers["nat_gateways"]],
        tasks=int(answers["desired_count"]),
        cpu=int(answers["cpu"]),
        memory=int(answers["memory"]),
        # A zone only when Route 53 holds the DNS and no existing zone is named.
        creates_hosted_zone=answers["dns"] == "route53" and not answers["hosted_zone_id"],
        alarms=alarms,
        architecture=answers["cpu_architecture"],
        capacity=answers["capacity"],
        secrets=secrets,
        joins_host=bool(answers.get("host_site")),
    )


def fargate_hour(site: Site, prices: dict) -> float:
    """USD an hour for the site's tasks, at their architecture's prices; a task on Spot at
    Spot's largest published discount, so the least it may cost."""
    vcpu_price, gb_price = (prices[key] for key in FARGATE_PRICES[site.architecture])
    task = site.cpu / 1024 * vcpu_price + site.memory / 1024 * gb_price
    spot_task = task * (1 - prices["fargate_spot_discount_up_to"])
    return (site.tasks - site.on_spot) * task + site.on_spot * spot_task


def _capacity_words(site: Site) -> str:
    if site.on_spot == 0:
        return "on demand"
    if site.on_spot == site.tasks:
        return "on Spot"
    return f"{site.tasks - site.on_spot} on demand, {site.on_spot} on Spot"


def monthly_cost(site: Site, prices: dict) -> dict[str, float]:
    """USD a month per line item, each rounded to cents: hourly charges only, no traffic."""
    vcpus, gigabytes = site.cpu / 1024, site.memory / 1024
    tasks = f"Fargate tasks: {site.tasks} × {vcpus:g} vCPU, {gigabytes:g} GB"
    hourly = (
        {}
        if site.joins_host
        else {
            "NAT gateways": site.nat_gateways * prices["nat_gateway_hour"],
            "Load balancer": prices["load_balancer_hour"],
        }
    )
    hourly |= {
        "Public IPv4 addresses": site.public_addresses * prices["public_ipv4_hour"],
        f"{tasks} ({site.architecture}, {_capacity_words(site)})": fargate_hour(site, prices),
    }
    items = {item: usd * HOURS_PER_MONTH for item, usd in hourly.items()}
    items[f"CloudWatch alarms ({site.alarms})"] = site.alarms * prices["alarm_month"]
    if site.creates_hosted_zone:
        items["Route 53 hosted zone"] = prices["hosted_zone_month"]
    if site.secrets:
        items[f"Secrets Manager secret ({site.secrets})"] = site.secrets * prices["secret_month"]
    return {item: round(usd, 2) for item, usd in items.items()}


def load_template(path: Path) -> dict:
    """A CloudFormation template with its short tags (`!Ref x`) in long form (`{"Ref": "x"}`)."""
    try:
        from cfnlint.decode.cfn_yaml import load
    except ImportError:  # cookiecutter alone installed: PyYAML comes with it
        import yaml

        class Loader(yaml.SafeLoader):
            pass

        def long_form(loader, tag, node):
            name = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"
            if isinstance(node, yaml.ScalarNode):
                value = loader.construct_scalar(node)
                return {name: value.split(".", 1) if tag == "GetAtt" else value}
            if isinstance(node, yaml.SequenceNode):
                return {name: loader.construct_sequence(node, deep=True)}
            return {name: loader.construct_mapping(node, deep=True)}

        Loader.add_multi_constructor("!", long_form)
        return yaml.load(path.read_text(), Loader=Loader)  # noqa: S506 (a SafeLoader subclass)
    return load(str(path))


def _value(template: dict, value):
    """A literal, or a parameter's default: the answer the template was generated with."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return template["Parameters"][value["Ref"]]["Default"]
    return value


def _holds(template: dict, condition) -> bool:
    """Evaluate a condition for the parameters' defaults."""
    if isinstance(condition, str):
        condition = template["Conditions"][condition]
    ((function, arguments),) = condition.items()
    if function == "Condition":
        return _holds(template, arguments)
    if function == "Fn::Equals":
        left, right = (str(_value(template, argument)) for argument in arguments)
        return left == right
    results = [_holds(template, argument) for argument in arguments]
    if function == "Fn::Not":
        return not results[0]
    if function == "Fn::And":
        return all(results)
    if function == "Fn::Or":
        return any(results)
    raise ValueError(f"condition function {function} is not supported here")


def _resources(template: dict, resource_type: str) -> list[dict]:
    """The resources of that type the stack creates with its default parameters."""
    return [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == resource_type
        and ("Condition" not in resource or _holds(template, resource["Condition"]))
    ]


def with_defaults(template: dict, **values: str) -> dict:
    """The template as if generated with other answers: these parameters' defaults replaced."""
    parameters = {
        key: {**spec, "Default": values.get(key, spec.get("Default"))}
        for key, spec in template["Parameters"].items()
    }
    return {**template, "Parameters": parameters}


def count_alarms(service: dict) -> int:
    """Alarms of the service stack, those Application Auto Scaling creates for it included."""
    alarms = _resources(service, "AWS::CloudWatch::Alarm")
    policies = _resources(service, "AWS::ApplicationAutoScaling::ScalingPolicy")
    tracking = [p for p in policies if p["Properties"]["PolicyType"] == "TargetTrackingScaling"]
    return len(alarms) + ALARMS_PER_TARGET_TRACKING_POLICY * len(tracking)


def rollout(resources: dict) -> Rollout:
    """The health check and draining settings of the site's target group (AlternateTargetGroup,
    the second of a blue_green, canary or linear deploy, has the same)."""
    properties = resources["Resources"]["TargetGroup"]["Properties"]
    attributes = {
        attribute["Key"]: _value(resources, attribute["Value"])
        for attribute in properties["TargetGroupAttributes"]
    }
    return Rollout(
        interval=int(_value(resources, properties["HealthCheckIntervalSeconds"])),
        healthy_threshold=int(_value(resources, properties["HealthyThresholdCount"])),
        deregistration_delay=int(attributes["deregistration_delay.timeout_seconds"]),
    )


def _nat_label(count: int) -> str:
    return {0: "no NAT gateway", 1: "1 NAT gateway"}.get(count, f"{count} NAT gateways")


def _markdown_table(rows: list[list[str]]) -> str:
    """A Markdown table padded to line up in a terminal too; numbers aligned right."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]

    def line(cells):
        first, *numbers = cells
        padded = [first.ljust(widths[0])]
        padded += [cell.rjust(width) for cell, width in zip(numbers, widths[1:], strict=True)]
        return "| " + " | ".join(padded) + " |"

    rule = ["-" * widths[0]] + ["-" * (w - 1) + ":" for w in widths[1:]]
    return "\n".join([line(rows[0]), line(rule), *map(line, rows[1:])])


def _chosen(label: str, chosen: bool) -> str:
    return label + (" (chosen)" if chosen else "")


def fargate_table(site: Site, prices: dict) -> str:
    """The tasks' cost for every architecture and capacity, the answers marked."""

    def month(architecture, capacity):
        other = replace(site, architecture=architecture, capacity=capacity)
        return f"{fargate_hour(other, prices) * HOURS_PER_MONTH:.2f}"

    header = ["Fargate tasks, USD a month"] + [
        _chosen(architecture, architecture == site.architecture) for architecture in FARGATE_PRICES
    ]
    rows = [
        [_chosen(capacity, capacity == site.capacity)]
        + [month(architecture, capacity) for architecture in FARGATE_PRICES]
        for capacity in CAPACITIES
    ]
    return _markdown_table([header, *rows])


def _host_label(count: int) -> str:
    return "on a host with no NAT gateway" if count == 0 else "on a host with NAT gateways"


def joined_site_words(joiner: Site, prices: dict) -> str:
    """What each site joining this one adds, at the questions' defaults."""
    private, public = (
        sum(monthly_cost(replace(joiner, nat_gateways=n), prices).values()) for n in (1, 0)
    )
    return (
        f"- Each site joining this one (its host_site answer) adds its own tasks, alarms, secret"
        f" and hosted zone, and no load balancer, NAT gateway or address of its own: ${private:.2f}"
        f" a month idle at the default answers ({joiner.tasks} tasks of {joiner.cpu / 1024:g}"
        f" vCPU, x86_64, on demand) while this site has NAT gateways, ${public:.2f} without"
        " (its tasks then hold a public IPv4 address each)."
    )


def report(
    site: Site, timing: Rollout, prices: dict, region: str, joiner: Site | None = None
) -> str:
    """The cost table of the site beside its NAT alternatives (a joining site: its host's), its
    tasks beside their other architecture and capacities, the prices' source, the rollout, and
    for a site of its own what each site joining it adds (`joiner`)."""
    if site.joins_host:  # where the tasks run is the host's choice: both cases
        choices = [0, 1]
        labels = [_host_label(n) for n in choices]
    else:
        choices = [site.nat_gateways] + [n for n in NAT_GATEWAYS.values() if n != site.nat_gateways]
        labels = [_chosen(_nat_label(n), n == site.nat_gateways) for n in choices]
    costs = [monthly_cost(replace(site, nat_gateways=n), prices) for n in choices]
    header = ["USD a month, idle", *labels]
    rows = [[item] + [f"{cost[item]:.2f}" for cost in costs] for item in costs[0]]
    total = ["Total"] + [f"{sum(cost.values()):.2f}" for cost in costs]
    totals = [total]
    if site.on_spot:  # the on-demand figure beside the Spot one
        total[0] = "Total (Spot at its largest discount)"
        on_demand = [
            monthly_cost(replace(site, nat_gateways=n, capacity="on_demand"), prices)
            for n in choices
        ]
        totals.append(
            ["Total, every task on demand"] + [f"{sum(cost.values()):.2f}" for cost in on_demand]
        )
    discount = prices["fargate_spot_discount_up_to"]
    source = f"{prices['region']} list prices of {prices['as_of']}, {HOURS_PER_MONTH} hours a month"
    if region != prices["region"]:
        source += f"; {region}, where the site runs, is a little higher"
    return "\n".join(
        [
            _markdown_table([header, *rows, *totals]),
            "",
            fargate_table(site, prices),
            "",
            f"- Prices: {source}.",
            f'- Fargate Spot: AWS publishes "up to {discount:.0%}" off the on-demand price and no'
            " typical discount, so the Spot figures take that whole discount: the least Spot may"
            " cost (its prices follow spare capacity and differ by region). A Spot task may be"
            " stopped with a two-minute warning; mixed keeps the first task on demand. arm64"
            " (Graviton) is AWS's Linux/ARM price.",
            "- Public IPv4: one per task when there is no NAT gateway"
            + (
                " (the load balancer's and NAT gateways' are the host's)."
                if site.joins_host
                else ", two addresses for the load balancer, one per NAT gateway."
            ),
            "- Not included: traffic (load balancer capacity units, NAT and data transfer per GB),"
            " logs, Container Insights metrics, image storage. An account's first 10 alarms"
            " are free.",
            f"- Rollout: a new task takes traffic after {timing.healthy_threshold} health checks"
            f" {timing.interval} s apart (the load balancer's minimums: {FEWEST_HEALTHY_CHECKS}"
            f" checks, {SHORTEST_HEALTH_CHECK_INTERVAL} s apart), and an old one drains for at"
            f" most {timing.deregistration_delay} s (no shorter than the longest request the"
            f" container lets run, so that none is cut): {timing.seconds} s per step, plus the"
            " time a task takes to start.",
            "- Deploy strategy: "
            + rollout_words(
                timing.strategy,
                timing.bake_minutes,
                timing.seconds,
                site.tasks,
                fargate_hour(site, prices),
            ),
            *([joined_site_words(joiner, prices)] if joiner else []),
        ]
    )


def project_report(project: Path, answers: dict) -> str:
    """The report for a generated project, from its answers and its stacks."""
    stacks = project / "cloudformation"
    service = load_template(stacks / "service.yaml")
    resources = load_template(stacks / "resources.yaml")
    secrets = len(_resources(resources, "AWS::SecretsManager::Secret"))
    site = site_from_answers(answers, count_alarms(service), secrets)
    timing = replace(
        rollout(resources),
        strategy=_value(service, {"Ref": "DeploymentStrategy"}),
        bake_minutes=int(_value(service, {"Ref": "BakeMinutes"})),
    )
    joiner = None
    if not site.joins_host:
        joined = with_defaults(
            service, LoadBalancerStackName="joined-site-host", **JOINER_SERVICE_DEFAULTS
        )
        joiner = Site(
            nat_gateways=1,
            creates_hosted_zone=True,
            alarms=count_alarms(joined),
            secrets=secrets,
            joins_host=True,
            **JOINER_DEFAULTS,
        )
    return report(site, timing, load_prices(), answers["aws_region"], joiner)
