"""The cost and rollout figures of flask_fargate/cost.py against hand-computed cases, and in a bake."""

import dataclasses
import importlib.util
import json
import re
import sys

import pytest
from bakery import TEMPLATE, bake_cli

COST_PY = TEMPLATE / "src" / "flask_fargate" / "cost.py"
spec = importlib.util.spec_from_file_location("site_cost", COST_PY)
cost = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = cost  # dataclasses look their module up
spec.loader.exec_module(cost)

# AWS's us-east-1 list prices as of 2026-06, from the pricing pages flask_fargate/prices.json names
# (aws.amazon.com/fargate/pricing, /vpc/pricing, ...), fixed here so the hand computations
# below stay true when prices.json is updated.
PRICES = {
    "region": "us-east-1",
    "as_of": "2026-06",
    "nat_gateway_hour": 0.045,
    "load_balancer_hour": 0.0225,
    "public_ipv4_hour": 0.005,
    "fargate_vcpu_hour": 0.04048,
    "fargate_gb_hour": 0.004445,
    # Linux/ARM, and Fargate Spot's published "up to 70%" off, from aws.amazon.com/fargate/pricing.
    "fargate_arm_vcpu_hour": 0.03238,
    "fargate_arm_gb_hour": 0.00356,
    "fargate_spot_discount_up_to": 0.7,
    "hosted_zone_month": 0.5,
    "alarm_month": 0.1,
    "secret_month": 0.4,  # aws.amazon.com/secrets-manager/pricing
}
DEFAULT_SITE = cost.Site(
    nat_gateways=0, tasks=2, cpu=256, memory=512, creates_hosted_zone=True, alarms=9
)
TWO_NATS = cost.Site(
    nat_gateways=2, tasks=2, cpu=256, memory=512, creates_hosted_zone=True, alarms=9
)


def test_the_data_file_holds_every_price_with_its_region_and_date():
    prices = cost.load_prices()
    assert set(PRICES) <= set(prices)
    assert prices["region"] == "us-east-1"
    assert re.fullmatch(r"20\d\d-\d\d", prices["as_of"])


@pytest.mark.parametrize(
    ("site", "expected"),
    [
        pytest.param(
            DEFAULT_SITE,
            {
                "NAT gateways": 0.0,
                "Load balancer": 16.43,  # 0.0225 x 730 = 16.425
                "Public IPv4 addresses": 14.60,  # (2 ALB + 2 tasks in public subnets) x 0.005 x 730
                # 2 x (0.25 x 0.04048 + 0.5 x 0.004445) x 730 = 18.02005
                "Fargate tasks: 2 × 0.25 vCPU, 0.5 GB (x86_64, on demand)": 18.02,
                "CloudWatch alarms (9)": 0.90,
                "Route 53 hosted zone": 0.50,
            },
            id="defaults",
        ),
        pytest.param(
            TWO_NATS,
            {
                "NAT gateways": 65.70,  # 2 x 0.045 x 730
                "Load balancer": 16.43,  # 0.0225 x 730 = 16.425
                "Public IPv4 addresses": 14.60,  # (2 ALB + 2 NAT) x 0.005 x 730
                # 2 x (0.25 x 0.04048 + 0.5 x 0.004445) x 730 = 18.02005
                "Fargate tasks: 2 × 0.25 vCPU, 0.5 GB (x86_64, on demand)": 18.02,
                "CloudWatch alarms (9)": 0.90,
                "Route 53 hosted zone": 0.50,
            },
            id="nat-per-zone",
        ),
        pytest.param(
            cost.Site(
                nat_gateways=0, tasks=1, cpu=1024, memory=2048, creates_hosted_zone=False, alarms=5
            ),
            {
                "NAT gateways": 0.0,
                "Load balancer": 16.43,
                "Public IPv4 addresses": 10.95,  # (2 ALB + 1 task in a public subnet) x 3.65
                "Fargate tasks: 1 × 1 vCPU, 2 GB (x86_64, on demand)": 36.04,  # (0.04048 + 2 x 0.004445) x 730 = 36.0401
                "CloudWatch alarms (5)": 0.50,
            },
            id="no-nat-existing-zone",
        ),
        pytest.param(
            cost.Site(
                nat_gateways=1,
                tasks=3,
                cpu=512,
                memory=1024,
                creates_hosted_zone=True,
                alarms=0,
                secrets=1,
            ),
            {
                "NAT gateways": 32.85,
                "Load balancer": 16.43,
                "Public IPv4 addresses": 10.95,  # 2 ALB + 1 NAT; tasks stay private
                "Fargate tasks: 3 × 0.5 vCPU, 1 GB (x86_64, on demand)": 54.06,  # 3 x (0.02024 + 0.004445) x 730 = 54.06015
                "CloudWatch alarms (0)": 0.0,
                "Route 53 hosted zone": 0.50,
                "Secrets Manager secret (1)": 0.40,
            },
            id="one-nat-three-tasks-a-secret",
        ),
        # On a host's load balancer: no load balancer, NAT gateway or their addresses.
        *[
            pytest.param(
                cost.Site(
                    nat_gateways=host_nat,
                    tasks=2,
                    cpu=256,
                    memory=512,
                    creates_hosted_zone=True,
                    alarms=8,
                    secrets=1,
                    joins_host=True,
                ),
                {
                    "Public IPv4 addresses": addresses,
                    "Fargate tasks: 2 × 0.25 vCPU, 0.5 GB (x86_64, on demand)": 18.02,
                    "CloudWatch alarms (8)": 0.80,
                    "Route 53 hosted zone": 0.50,
                    "Secrets Manager secret (1)": 0.40,
                },
                id=f"joins-a-host-with-{host_nat}-nat-gateways",
            )
            # The host's tasks, and so the joined site's, in public subnets: an address each.
            for host_nat, addresses in ((0, 7.30), (1, 0.0))
        ],
    ],
)
def test_monthly_cost_matches_hand_computation(site, expected):
    assert cost.monthly_cost(site, PRICES) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("architecture", "capacity", "tasks", "label", "usd"),
    [
        # 2 x (0.25 x 0.03238 + 0.5 x 0.00356) x 730 = 14.4175
        ("arm64", "on_demand", 2, "2 × 0.25 vCPU, 0.5 GB (arm64, on demand)", 14.42),
        # 18.02005 x (1 - 0.7) = 5.406015
        ("x86_64", "spot", 2, "2 × 0.25 vCPU, 0.5 GB (x86_64, on Spot)", 5.41),
        # 14.4175 x 0.3 = 4.32525
        ("arm64", "spot", 2, "2 × 0.25 vCPU, 0.5 GB (arm64, on Spot)", 4.33),
        # one on demand, one on Spot: 9.010025 + 9.010025 x 0.3 = 11.7130325
        ("x86_64", "mixed", 2, "2 × 0.25 vCPU, 0.5 GB (x86_64, 1 on demand, 1 on Spot)", 11.71),
        # 7.20875 + 2 x 7.20875 x 0.3 = 11.533
        ("arm64", "mixed", 3, "3 × 0.25 vCPU, 0.5 GB (arm64, 1 on demand, 2 on Spot)", 11.53),
        # mixed with one task: that task is the one on demand
        ("x86_64", "mixed", 1, "1 × 0.25 vCPU, 0.5 GB (x86_64, on demand)", 9.01),
    ],
)
def test_the_tasks_line_follows_architecture_and_capacity(
    architecture, capacity, tasks, label, usd
):
    site = dataclasses.replace(
        DEFAULT_SITE, architecture=architecture, capacity=capacity, tasks=tasks
    )
    costs = cost.monthly_cost(site, PRICES)

    assert costs[f"Fargate tasks: {label}"] == pytest.approx(usd, abs=1e-9)


def fargate_rows(text):
    """The second table of a report: {capacity: [x86_64, arm64]}, the (chosen) marks dropped."""
    table = text.split("\n\n")[1].splitlines()
    return {
        cells(row)[0].removesuffix(" (chosen)"): [float(cell) for cell in cells(row)[1:]]
        for row in table[2:]
    }


def test_the_report_shows_every_architecture_and_capacity_computed_from_the_prices():
    text = cost.report(DEFAULT_SITE, cost.Rollout(5, 2, 20), PRICES, "us-east-1")

    assert fargate_rows(text) == {
        "on_demand": [18.02, 14.42],
        "spot": [5.41, 4.33],
        "mixed": [11.71, 9.37],  # 7.20875 + 7.20875 x 0.3 = 9.371375
    }
    assert '"up to 70%" off the on-demand price' in text
    assert "every task on demand" not in text  # no Spot chosen: the total is on demand


def test_a_changed_price_changes_the_table():
    dearer_arm = {**PRICES, "fargate_arm_vcpu_hour": 0.04048, "fargate_spot_discount_up_to": 0.5}
    text = cost.report(DEFAULT_SITE, cost.Rollout(5, 2, 20), dearer_arm, "us-east-1")

    # arm64 at the x86 vCPU price: 2 x (0.25 x 0.04048 + 0.5 x 0.00356) x 730 = 17.3740
    assert fargate_rows(text) == {
        "on_demand": [18.02, 17.37],
        "spot": [9.01, 8.69],
        "mixed": [13.52, 13.03],
    }
    assert '"up to 50%"' in text


def test_a_spot_answer_puts_the_on_demand_total_beside_its_own():
    site = dataclasses.replace(DEFAULT_SITE, architecture="arm64", capacity="mixed")
    text = cost.report(site, cost.Rollout(5, 2, 20), PRICES, "us-east-1")

    first = text.split("\n\n")[0].splitlines()
    spot_total, on_demand_total = cells(first[-2]), cells(first[-1])
    # 0 NAT: 16.43 + 14.60 + 9.37 + 0.90 + 0.50, and with 14.42 for both tasks on demand
    assert spot_total[:2] == ["Total (Spot at its largest discount)", "41.80"]
    assert on_demand_total[:2] == ["Total, every task on demand", "46.85"]
    assert "mixed (chosen)" in text and "arm64 (chosen)" in text


def cells(line):
    return [cell.strip() for cell in line.split("|")[1:-1]]


def test_report_puts_the_answer_beside_the_other_nat_choices():
    text = cost.report(TWO_NATS, cost.Rollout(10, 2, 30), PRICES, "eu-west-1")

    header, _, *rows = text.split("\n\n")[0].splitlines()
    assert cells(header)[1:] == ["2 NAT gateways (chosen)", "no NAT gateway", "1 NAT gateway"]
    totals = cells(rows[-1])
    # 2 NAT: 65.70 + 16.43 + 14.60 + 18.02 + 0.90 + 0.50; 0 NAT: 4 addresses; 1 NAT: 32.85 and 3 addresses
    assert totals == ["Total", "116.15", "50.45", "79.65"]
    assert "us-east-1 list prices of 2026-06" in text
    assert "eu-west-1, where the site runs, is a little higher" in text
    assert "2 health checks 10 s apart" in text and "50 s per step" in text


def test_report_says_what_bounds_each_rollout_figure():
    text = cost.report(DEFAULT_SITE, cost.Rollout(5, 2, 20), PRICES, "us-east-1")

    (rollout,) = [line for line in text.splitlines() if line.startswith("- Rollout:")]
    assert (
        "2 health checks 5 s apart (the load balancer's minimums: 2 checks, 5 s apart)" in rollout
    )
    assert "at most 20 s (no shorter than the longest request the container lets run" in rollout
    assert "30 s per step" in rollout


def test_report_chosen_column_comes_first_then_the_others_cheapest_first():
    text = cost.report(DEFAULT_SITE, cost.Rollout(10, 2, 30), PRICES, "us-east-1")

    header = text.splitlines()[0]
    assert (
        header.index("no NAT gateway (chosen)")
        < header.index("1 NAT gateway")
        < header.index("2 NAT gateways")
    )
    assert "a little higher" not in text  # the table's own region


def test_rollout_reads_literals_and_parameter_defaults():
    template = {
        "Parameters": {"Interval": {"Type": "Number", "Default": 5}},
        "Resources": {
            "TargetGroup": {
                "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                "Properties": {
                    "HealthCheckIntervalSeconds": {"Ref": "Interval"},
                    "HealthyThresholdCount": 3,
                    "TargetGroupAttributes": [
                        {"Key": "stickiness.enabled", "Value": "false"},
                        {"Key": "deregistration_delay.timeout_seconds", "Value": "20"},
                    ],
                },
            }
        },
    }
    assert cost.rollout(template) == cost.Rollout(
        interval=5, healthy_threshold=3, deregistration_delay=20
    )
    assert cost.Rollout(5, 3, 20).seconds == 35
    # The original's health check (120 s x 4) with the ALB's default 300 s deregistration delay.
    assert cost.Rollout(120, 4, 300).seconds == 780


def service_template(desired, maximum, alarm_email=""):
    alarm = {"Type": "AWS::CloudWatch::Alarm", "Properties": {}}
    policy = {
        "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
        "Condition": "Autoscale",
        "Properties": {"PolicyType": "TargetTrackingScaling"},
    }
    return {
        "Parameters": {
            "DesiredCount": {"Default": desired},
            "MaxCount": {"Default": maximum},
            "AlarmEmail": {"Default": alarm_email},
        },
        "Conditions": {
            "Autoscale": {
                "Fn::Not": [{"Fn::Equals": [{"Ref": "MaxCount"}, {"Ref": "DesiredCount"}]}]
            },
            "HasEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
            "EmailedAutoscale": {
                "Fn::And": [{"Condition": "Autoscale"}, {"Condition": "HasEmail"}]
            },
            "EitherOne": {"Fn::Or": [{"Condition": "Autoscale"}, {"Condition": "HasEmail"}]},
        },
        "Resources": {
            "Errors": alarm,
            "Latency": alarm,
            "OnlyWithEmailAndScaling": {**alarm, "Condition": "EmailedAutoscale"},
            "WithEmailOrScaling": {**alarm, "Condition": "EitherOne"},
            "CpuTracking": policy,
            "RequestTracking": policy,
            "StepPolicy": {**policy, "Properties": {"PolicyType": "StepScaling"}},
        },
    }


@pytest.mark.parametrize(
    ("desired", "maximum", "email", "alarms"),
    [
        ("2", "4", "", 2 + 1 + 2 * 2),  # two target tracking policies: two alarms each
        ("3", "3", "", 2),  # no autoscaling: its policies and alarms are not created
        ("2", "4", "ops@example.com", 2 + 2 + 2 * 2),
        ("3", "3", "ops@example.com", 2 + 1),
    ],
)
def test_alarms_are_counted_for_the_conditions_the_answers_make(desired, maximum, email, alarms):
    assert cost.count_alarms(service_template(desired, maximum, email)) == alarms


ANSWERS = {
    "nat_gateways": "none",
    "desired_count": "2",
    "cpu": "256",
    "memory": "512",
    "cpu_architecture": "x86_64",
    "capacity": "on_demand",
    "dns": "route53",
    "hosted_zone_id": "",
}


@pytest.mark.parametrize(("answer", "gateways"), [("none", 0), ("shared", 1), ("per_zone", 2)])
def test_the_nat_answer_is_read_as_its_number_of_gateways(answer, gateways):
    answers = {**ANSWERS, "nat_gateways": answer}
    assert cost.site_from_answers(answers, alarms=0).nat_gateways == gateways


@pytest.mark.parametrize(
    ("dns", "zone", "creates"),
    [("route53", "", True), ("route53", "Z0123456789ABC", False), ("external", "", False)],
)
def test_a_hosted_zone_is_charged_only_when_the_stack_creates_one(dns, zone, creates):
    answers = {**ANSWERS, "dns": dns, "hosted_zone_id": zone}
    assert cost.site_from_answers(answers, alarms=0).creates_hosted_zone is creates


def test_both_template_loaders_read_the_generated_stacks_alike(default_bake, monkeypatch):
    stacks = sorted((default_bake / "cloudformation").glob("*.yaml"))
    with_cfn_lint = [cost.load_template(path) for path in stacks]
    monkeypatch.setitem(sys.modules, "cfnlint.decode.cfn_yaml", None)  # as without cfn-lint
    assert [cost.load_template(path) for path in stacks] == with_cfn_lint


def test_the_bake_prints_the_report_and_writes_it_into_the_readme(tmp_path):
    bake = bake_cli(
        tmp_path,
        nat_gateways="shared",
        desired_count="3",
        max_count="3",
        hosted_zone_id="Z0123456789ABC",
    )

    assert bake.returncode == 0, bake.stderr
    readme = (bake.project / "README.md").read_text()
    report = re.search(
        r"<!-- cost report: begin -->\n(.*)\n<!-- cost report: end -->", readme, re.DOTALL
    )[1]
    assert report in bake.stdout
    header = report.splitlines()[0]
    assert "1 NAT gateway (chosen)" in header and "no NAT gateway" in header
    assert "Fargate tasks: 3 × 0.25 vCPU, 0.5 GB" in report
    assert "Route 53 hosted zone" not in report  # the answers name an existing zone
    assert "Secrets Manager secret (1)" in report  # the app's secrets, kept by the resources stack
    rollout = re.search(r"(\d+) s per step", report)
    assert rollout and int(rollout[1]) <= 30


def test_a_joining_site_at_the_default_answers_costs_at_most_20_usd_a_month_idle(tmp_path):
    """The target of issue 11, at the list prices in prices.json; and the host says so too."""
    bake = bake_cli(tmp_path / "joins", domain="blog.example.org", host_site="example-com")
    assert bake.returncode == 0, bake.stderr
    (total,) = [line for line in bake.stdout.splitlines() if line.startswith("| Total ")]
    on_a_host_without_nat, on_a_host_with_nat = (float(cell) for cell in total.split("|")[2:4])
    assert on_a_host_with_nat <= 20 < on_a_host_without_nat  # the tasks' public addresses
    rows = [line.split("|")[1].strip() for line in bake.stdout.splitlines() if line.startswith("|")]
    assert "Load balancer" not in rows and "NAT gateways" not in rows
    host = bake_cli(tmp_path / "host")
    assert f"${on_a_host_with_nat:.2f} a month idle at the default answers" in host.stdout
    assert f"${on_a_host_without_nat:.2f} without" in host.stdout


def test_the_joined_site_figures_use_the_questions_defaults():
    questions = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    assert cost.JOINER_DEFAULTS == {
        "tasks": int(questions["desired_count"]),
        "cpu": int(questions["cpu"][0]),
        "memory": int(questions["cpu"][0]) * 2,  # the memory question's default, twice the CPU
    }
    assert cost.JOINER_SERVICE_DEFAULTS == {
        "DesiredCount": questions["desired_count"],
        "MaxCount": questions["max_count"],
        "DeploymentStrategy": questions["deploy_strategy"][0].upper(),
    }
