"""Many sites, one load balancer: a host and three sites joining it, each baked by cookiecutter
and deployed by the tool (`flask-fargate`) in its folder against one moto server, which the
host's `flask-fargate rehearse --serve` runs (the rehearsal a user runs, README of a site).

The tests run in order on one worker (xdist group): each builds on the deploys before it.
"""

import json
import os
import re
import subprocess
import sys

import boto3
import pytest
from bakery import bake_cli

pytestmark = pytest.mark.xdist_group("shared-load-balancer")

REGION = "eu-west-1"  # cookiecutter.json's first region, every bake's
HOST = "example-com"
JOINERS = {
    "blog-example-org": {"domain": "blog.example.org"},
    "shop-example-net": {"domain": "shop.example.net", "ssl": "no"},
    "docs-example-io": {"domain": "docs.example.io", "deploy_strategy": "blue_green"},
}
# Credentials for the local server only, never the user's own.
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
    "AWS_ACCESS_KEY_ID": "rehearsal",
    "AWS_SECRET_ACCESS_KEY": "rehearsal",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Resource types only a site owning its network has.
NETWORK_TYPES = {
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::NatGateway",
    "AWS::EC2::InternetGateway",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "AWS::ElasticLoadBalancingV2::Listener",
    "AWS::S3::Bucket",
}


@pytest.fixture(scope="module")
def sites(tmp_path_factory):
    """Each site's folder, by slug: the host with the default answers, and the three joiners."""
    folders = {}
    for slug, answers in {HOST: {}, **JOINERS}.items():
        if slug != HOST:
            answers = {**answers, "host_site": HOST}
        bake = bake_cli(tmp_path_factory.mktemp(slug), **answers)
        assert bake.returncode == 0, bake.stderr
        assert bake.project.name == slug
        folders[slug] = bake.project
    return folders


@pytest.fixture(scope="module")
def endpoint(sites):
    server = subprocess.Popen(
        [sys.executable, "-m", "flask_fargate", "rehearse", "--serve"],
        cwd=sites[HOST],
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", first_line)
        assert url, first_line
        yield url[0]
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def aws(endpoint):
    return lambda service: boto3.client(
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="rehearsal",
        aws_secret_access_key="rehearsal",
    )


@pytest.fixture(scope="module")
def run(sites, endpoint):
    """`flask-fargate COMMAND ARGS` in a site's folder, as its user: the completed process."""

    def in_site(slug, command, *args):
        completed = subprocess.run(
            [sys.executable, "-m", "flask_fargate", command, "--endpoint-url", endpoint, *args],
            cwd=sites[slug],
            env={**ENV, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return completed

    return in_site


def said(completed):
    return completed.stdout + completed.stderr


def resources(aws, slug):
    stack = f"{slug}-resources"
    pages = aws("cloudformation").get_paginator("list_stack_resources").paginate(StackName=stack)
    return [summary for page in pages for summary in page["StackResourceSummaries"]]


def outputs(aws, slug):
    (stack,) = aws("cloudformation").describe_stacks(StackName=f"{slug}-resources")["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def parameters(aws, stack_name):
    (stack,) = aws("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def site_rules(aws):
    """(priority, host names, listener port) of every site's rule on the host's listeners."""
    elbv2 = aws("elbv2")
    found = []
    for key in ("HttpListenerArn", "HttpsListenerArn"):
        listener = outputs(aws, HOST)[key]
        (port,) = {
            listener_["Port"]
            for listener_ in elbv2.describe_listeners(ListenerArns=[listener])["Listeners"]
        }
        for rule in elbv2.describe_rules(ListenerArn=listener)["Rules"]:
            if not rule["IsDefault"]:
                (condition,) = rule["Conditions"]
                found.append(
                    (int(rule["Priority"]), tuple(condition["HostHeaderConfig"]["Values"]), port)
                )
    return sorted(found)


def test_a_site_joining_a_host_not_deployed_is_refused_in_one_line(aws, run):
    plan = run("blog-example-org", "plan")
    assert plan.returncode == 2
    assert plan.stderr.strip() == (
        f"error: HostSite {HOST}: there is no stack {HOST}-resources in {REGION} (a site joins a "
        "host in its own account and region; deploy the host first)"
    )
    assert aws("cloudformation").describe_stacks()["Stacks"] == []


def test_the_host_and_three_joining_sites_deploy_onto_one_load_balancer(aws, run):
    for slug in [HOST, *JOINERS]:
        rehearsal = run(slug, "rehearse")
        assert rehearsal.returncode == 0, said(rehearsal)
    assert len(aws("elbv2").describe_load_balancers()["LoadBalancers"]) == 1
    status = run(HOST, "status", "--output", "json")
    assert json.loads(status.stdout)["joined_sites"] == sorted(JOINERS)


def test_each_joining_site_adds_its_own_rule_certificate_and_service_in_the_hosts_network(aws):
    host = outputs(aws, HOST)
    for slug, answers in JOINERS.items():
        kinds = {r["ResourceType"] for r in resources(aws, slug) if r.get("PhysicalResourceId")}
        assert not kinds & NETWORK_TYPES, slug
        wanted = parameters(aws, f"{slug}-resources")
        https = answers.get("ssl") != "no"
        assert wanted["HostListenerArn"] == host["HttpsListenerArn" if https else "HttpListenerArn"]
        service = parameters(aws, f"{slug}-service")
        assert service["LoadBalancerStackName"] == f"{HOST}-resources"
        assert service["ServiceSubnetIds"] == host["ServiceSubnetIds"]
    rules = site_rules(aws)
    domains = {JOINERS[slug]["domain"] for slug in JOINERS} | {"example.com"}
    assert {names[0] for _, names, _ in rules} == domains
    assert all(names[1] == f"www.{names[0]}" for _, names, _ in rules)
    priorities = [priority for priority, _, _ in rules]
    assert len(set(priorities)) == len(priorities) == 4
    assert min(priorities) == 1000  # the host's; joiners above it
    sni = aws("elbv2").describe_listener_certificates(ListenerArn=host["HttpsListenerArn"])
    joined_with_https = [s for s, answers in JOINERS.items() if answers.get("ssl") != "no"]
    assert len([c for c in sni["Certificates"] if not c["IsDefault"]]) == len(joined_with_https)


def test_a_joining_site_names_its_host_and_the_host_refuses_changes_they_depend_on(run):
    status = run("blog-example-org", "status")
    assert status.returncode == 0 and "example-com's (this site joins it)" in said(status)
    plan = run(HOST, "plan", "--set", "NatGateways=1")
    assert plan.returncode != 0
    assert "NatGateways 1: blog-example-org, docs-example-io, shop-example-net run on" in said(plan)


def test_destroying_the_host_is_refused_while_sites_are_joined(aws, run):
    destroy = run(HOST, "destroy", "--yes")
    assert destroy.returncode != 0
    assert "blog-example-org, docs-example-io, shop-example-net run on example-com's" in said(
        destroy
    )
    assert aws("elbv2").describe_load_balancers()["LoadBalancers"]


def test_destroying_one_joined_site_leaves_the_others_serving(aws, run):
    before = site_rules(aws)
    destroy = run("shop-example-net", "destroy", "--yes")
    assert destroy.returncode == 0, said(destroy)
    shop = next(rule for rule in before if rule[1][0] == "shop.example.net")
    assert site_rules(aws) == [rule for rule in before if rule != shop]


def test_a_full_load_balancer_refuses_the_next_site_before_changing_anything(aws, run):
    elbv2 = aws("elbv2")
    listener = outputs(aws, HOST)["HttpsListenerArn"]
    used = len(site_rules(aws))
    for priority in range(2000, 2000 + 100 - used):  # another team's rules fill the quota
        elbv2.create_rule(
            ListenerArn=listener,
            Priority=priority,
            Conditions=[{"Field": "path-pattern", "Values": [f"/other-{priority}"]}],
            Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "204"}}],
        )
    up = run("shop-example-net", "up", "--yes")
    assert up.returncode != 0
    assert "example-com's load balancer is full (100 rules of 100" in said(up)
    names = [s["StackName"] for s in aws("cloudformation").describe_stacks()["Stacks"]]
    assert "shop-example-net-resources" not in names


def test_the_host_is_destroyed_once_its_sites_are_gone(aws, run):
    for slug in ("blog-example-org", "docs-example-io", HOST):
        destroy = run(slug, "destroy", "--yes")
        assert destroy.returncode == 0, said(destroy)
    assert not aws("elbv2").describe_load_balancers()["LoadBalancers"]
