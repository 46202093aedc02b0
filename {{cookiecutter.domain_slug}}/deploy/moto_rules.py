"""A real moto server on a free loopback port, standing in for AWS in the deploy tool's tests.

moto (5.2) runs change sets differently from AWS, and the deploy tool must keep AWS's behaviour,
so the tests teach the server AWS's behaviour instead (the server runs in this process):

- Executing a CREATE change set leaves moto's stack without outputs or exports, and it resolves
  `Fn::ImportValue` against no exports at all ("No export named ... found").
- Executing an UPDATE change set leaves the outputs and exports as they were.
- Its stacks know no `Fn::GetAtt` of a target group's `TargetGroupFullName`, a load balancer's
  `LoadBalancerFullName` or a hosted zone's `NameServers`.
- `!Ref AWS::NoValue` as an item of a list (`Policies: [!If [Cond, {...}, !Ref AWS::NoValue]]`)
  stays in the list as null instead of removing the item.
- It accepts any parameter value; AWS refuses a change set whose value is not in the parameter's
  AllowedValues or does not match its AllowedPattern.
- Deleting a stack leaves its route tables (AWS deletes them before the VPC), so the VPC's
  deletion fails with DependencyViolation.
- It exports the outputs whose Condition is false too (and fails evaluating them).

The replacements below do what moto's own create_stack and update_stack do, which is what AWS
does when it executes those change sets, and what AWS answers for those attributes.
Everything else is moto as released.

One gap is left to the tests instead: moto has no `AWS::EC2::VPCCidrBlock` (nor `Fn::Cidr` or a
VPC's `Ipv6CidrBlocks`), so its VPCs get no IPv6 range. The tests deploy with `EnableIpv6=false`
(`site_overrides` in test_deploy.py), and moto only sees the stack's IPv4 branches.
"""

import contextlib
import re

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack
from moto.ec2.models import ec2_backends
from moto.ec2.models.vpcs import VPC
from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup
from moto.route53.models import DelegationSet, FakeZone
from moto.server import ThreadedMotoServer

moto_create_change_set = CloudFormationBackend.create_change_set


def create_change_set(self, stack_name, change_set_name, template, parameters, *args, **kwargs):
    """Refuse parameter values outside the template's constraints, with AWS's messages."""
    declared = Stack.parse_template(template).get("Parameters", {})
    for key, value in parameters.items():
        allowed = declared.get(key, {}).get("AllowedValues")
        pattern = declared.get(key, {}).get("AllowedPattern")
        if allowed is not None and value not in [str(item) for item in allowed]:
            raise ValidationError(message=f"Parameter '{key}' must be one of AllowedValues")
        if pattern is not None and not re.fullmatch(pattern, str(value)):
            raise ValidationError(message=f"Parameter '{key}' must match pattern {pattern}")
    return moto_create_change_set(
        self, stack_name, change_set_name, template, parameters, *args, **kwargs
    )


def execute_change_set(self, change_set_name, stack_name=None):
    change_set = self.describe_change_set(change_set_name)
    stack = self.stacks[change_set.stack_id]
    if change_set.change_set_type == "CREATE":
        stack.template = change_set.template
        stack._parse_template()
        stack.parameters = change_set.parameters
        stack.cross_stack_resources = self.exports
        stack.resource_map = stack._create_resource_map()
        stack.output_map = stack._create_output_map()
        stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        stack.create_resources()
        self._validate_export_uniqueness(stack)
    else:
        stack.update(change_set.template, parameters=change_set.parameters)
    for export in stack.exports:
        self.exports[export.name] = export
    change_set.execution_status = "EXECUTE_COMPLETE"


moto_clean_json = parsing.clean_json

# The Fn::GetAtt attributes AWS has and moto lacks, computed the way AWS defines them.
MISSING_ATTRIBUTES = {
    FakeTargetGroup: {"TargetGroupFullName": lambda group: group.arn.split(":", 5)[5]},
    FakeLoadBalancer: {"LoadBalancerFullName": lambda balancer: balancer.arn.split("/", 1)[1]},
    FakeZone: {
        "NameServers": lambda zone: (
            (zone.delegation_set or DelegationSet("", None, None)).name_servers
        )
    },
}


def clean_json(resource_json, resources_map):
    """moto's template function evaluation, plus the missing Fn::GetAtt attributes and
    AWS::NoValue in lists."""
    if isinstance(resource_json, list):
        items = (clean_json(item, resources_map) for item in resource_json)
        return [item for item in items if item is not None]
    if isinstance(resource_json, dict) and "Fn::GetAtt" in resource_json:
        name, attribute = resource_json["Fn::GetAtt"][:2]
        resource = resources_map.get(name)
        added = MISSING_ATTRIBUTES.get(type(resource), {}).get(attribute)
        if added:
            return added(resource)
    return moto_clean_json(resource_json, resources_map)


def exports(self):
    """The exports of the outputs that exist, that is whose Condition holds."""
    return [
        parsing.Export(
            self._stack_id, clean_json(spec["Export"]["Name"], self._resource_map), output.value
        )
        for key, spec in (self._output_json_map or {}).items()
        if spec.get("Export") and (output := self[key]) is not None
    ]


moto_delete_vpc = VPC.__dict__["delete_from_cloudformation_json"].__func__


def delete_vpc(cls, resource_name, cloudformation_json, account_id, region_name):
    """Delete the VPC's own route tables first, as AWS does, then let moto delete the VPC."""
    backend = ec2_backends[account_id][region_name]
    for table in list(backend.route_tables.values()):
        if table.vpc_id == resource_name and table.main_association_id is None:
            table._associations.clear()
            backend.route_tables.pop(table.id)
    moto_delete_vpc(cls, resource_name, cloudformation_json, account_id, region_name)


PATCHES = [
    (CloudFormationBackend, "create_change_set", create_change_set),
    (VPC, "delete_from_cloudformation_json", classmethod(delete_vpc)),
    (parsing.OutputMap, "exports", property(exports)),
    (CloudFormationBackend, "execute_change_set", execute_change_set),
    (parsing, "clean_json", clean_json),
]


@contextlib.contextmanager
def moto_server():
    """Yield the endpoint URL of a moto server taught the AWS behaviour above."""
    originals = [(owner, name, vars(owner)[name]) for owner, name, _ in PATCHES]
    for owner, name, replacement in PATCHES:
        setattr(owner, name, replacement)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for owner, name, original in originals:
            setattr(owner, name, original)
