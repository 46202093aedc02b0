"""A service takes only its own site's traffic: its load balancers name the target groups and the
listener rule that the site's resources stack makes, never another site's.

ECS registers a service's tasks in whatever target group its template names, and a blue_green,
canary or linear deploy moves the weights of whatever rule it names; no IAM condition limits
which target group UpdateService may use. On a shared load balancer, or in an account shared by
sites, a service naming another site's target group would receive that site's requests, cookies
included. The tool refuses such templates before any change: the accident (an ARN pasted in, an
import of another site's export). A commit that means harm can change the tool as well;
docs/security.md says where that boundary lies.
"""

import json
import re

from flask_fargate import host, site, stacks
from flask_fargate.errors import USAGE, Abort

TARGET_GROUP = "AWS::ElasticLoadBalancingV2::TargetGroup"
LISTENER_RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"
# What an AWS::ECS::Service's LoadBalancers entry (and its AdvancedConfiguration) names, and what
# each must be (the AWS::ECS::Service LoadBalancer and AdvancedConfiguration properties in the
# CloudFormation User Guide).
NAMED = {
    "TargetGroupArn": TARGET_GROUP,
    "AlternateTargetGroupArn": TARGET_GROUP,
    "ProductionListenerRule": LISTENER_RULE,
    "TestListenerRule": LISTENER_RULE,
}
NO_VALUE = {"Ref": "AWS::NoValue"}


def branches(value):
    """Each value `value` may take: both sides of every Fn::If."""
    if isinstance(value, dict) and list(value) == ["Fn::If"]:
        _, first, second = value["Fn::If"]
        return branches(first) + branches(second)
    return [] if value is None or value == NO_VALUE else [value]


def substituted(value, values):
    """A plain string or Fn::Sub of parameters, with their values; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and list(value) == ["Fn::Sub"] and isinstance(value["Fn::Sub"], str):
        return re.sub(r"\$\{([\w:]+)\}", lambda m: values.get(m[1], m[0]), value["Fn::Sub"])
    return None


class Tracer:
    """What a value of the service template names, followed through the resources template."""

    def __init__(self, aws, resources_stack, service_values):
        self.aws = aws
        self.stack = resources_stack
        self.values = service_values
        self.service = stacks.decode(stacks.service().template.read_text())
        self.resources = stacks.decode(stacks.resources().template.read_text())
        self.name = site.current().resources_stack
        # Each export of the resources template, by name, and the output it exports.
        own = {"AWS::StackName": self.name}
        self.exports = {
            substituted(output["Export"].get("Name"), own): key
            for key, output in self.resources.get("Outputs", {}).items()
            if isinstance(output.get("Export"), dict)
        }

    def foreign(self, value, kind):
        """What `value` names that is not a resource of that kind of the site's own: a list of
        words for each."""
        found = []
        for branch in branches(value):
            if isinstance(branch, str):
                if branch not in self.deployed_ids(kind):
                    found.append(branch)
            elif not isinstance(branch, dict):
                found.append(json.dumps(branch))
            elif list(branch) == ["Ref"]:
                found += self.foreign_ref(branch["Ref"], kind)
            elif list(branch) == ["Fn::ImportValue"]:
                export = substituted(branch["Fn::ImportValue"], self.values)
                output = self.exports.get(export)
                if output is None:
                    found.append(f"export {export or json.dumps(branch['Fn::ImportValue'])}")
                else:
                    found += self.foreign_output(output, kind)
            else:
                found.append(json.dumps(branch))
        return found

    def foreign_ref(self, name, kind):
        if self.service.get("Resources", {}).get(name, {}).get("Type") == kind:
            return []  # the service stack's own
        if name in stacks.FROM_RESOURCES:  # the tool passes the resources stack's output
            return self.foreign_output(name, kind)
        value = self.values.get(name)
        return self.foreign(value, kind) if value else [f"parameter {name}"]

    def foreign_output(self, key, kind):
        """What the resources template's output `key` names that is not its own `kind`."""
        output = self.resources.get("Outputs", {}).get(key)
        if output is None:
            return [f"output {key} of {self.name}, which its template lacks"]
        found = []
        for branch in branches(output.get("Value")):
            if isinstance(branch, str):
                if branch not in self.deployed_ids(kind):
                    found.append(branch)
            elif not self.makes(branch, kind):
                found.append(json.dumps(branch))
        return [f"{words} ({self.name} output {key})" for words in found]

    def makes(self, value, kind):
        """True when `value` is a Ref to a resource of that kind in the resources template."""
        if not (isinstance(value, dict) and list(value) == ["Ref"]):
            return False
        return self.resources.get("Resources", {}).get(value["Ref"], {}).get("Type") == kind

    def deployed_ids(self, kind):
        """The physical ids of the resources stack's resources of that kind (ARNs here)."""
        if self.stack is None or stacks.is_new(self.stack):
            return set()
        return set(stacks.physical_ids(self.aws, self.stack["StackId"], kind))


def named(service):
    """(logical id, key, value) of each thing the template's ECS services' load balancers name."""
    for logical_id, resource in service.get("Resources", {}).items():
        if resource.get("Type") != "AWS::ECS::Service":
            continue
        for balancers in branches((resource.get("Properties") or {}).get("LoadBalancers")):
            for balancer in (one for entry in balancers for one in branches(entry)):
                for setting in [balancer, *branches(balancer.get("AdvancedConfiguration"))]:
                    for key in NAMED.keys() & setting.keys():
                        yield logical_id, key, setting[key]


def refuse_foreign_targets(aws, resources_stack, service_values):
    """Refuse a service template whose load balancers name a target group or listener rule that
    the site's resources stack does not make (resources_stack: None before the first deploy;
    service_values: the service stack's parameters as the deploy will set them)."""
    tracer = Tracer(aws, resources_stack, service_values)
    for logical_id, key, value in named(tracer.service):
        kind = NAMED[key]
        foreign = tracer.foreign(value, kind)
        if foreign:
            raise Abort(
                f"cloudformation/service.yaml: {logical_id} {key} names {foreign[0]}, not a "
                f"{kind.rsplit('::', 1)[1]} of {tracer.name}: a site's service takes its own "
                f"traffic only ({host.README})",
                USAGE,
            )
