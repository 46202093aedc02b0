"""The AWS rules the deploy tool meets, taught to moto; server.py applies them to a moto server.

`make rehearse` and this repository's tests/tool/ run the deploy tool against that server. moto
(5.2) is kinder than AWS in ways that hide real failures, and runs change sets differently;
each rule below says what AWS does and where AWS says so, and the server (running in this
process) is patched to do the same. Everything else is moto as released. A rehearsal therefore
checks the API calls and the templates' logic; it is not AWS (no certificate is validated, no
task runs).

Change sets and templates (what moto lacks; AWS's CloudFormation User Guide for each):
- Its change sets list every resource of the template, whatever its Condition, and on an update
  only those whose definition changed, none that a changed parameter reaches; executed, it
  updates resources whose Condition is false as if they existed, and resources that name a
  changed parameter with Ref but none that read it otherwise (Fn::Sub, Fn::If), nor those that
  refer to a replaced resource; a resource whose Condition turns false it deletes but keeps
  listed (and deletes again with the stack). Taught here: one computation of what changes
  (Add, Modify with Replacement, Scope and Details, Remove), for the change set shown and its
  execution, a removed resource leaving the stack (forget_resources_removed).
- An update's change set has changes, for moto, whenever its parameters differ as given from
  those the stack was last given: a default given explicitly, or left out after it was given.
  AWS compares the values each parameter resolves to (given, kept, or the default) and the
  template; both the same, the change set has status FAILED, "The submitted information didn't
  contain changes" (settle_unchanged).
- Its stacks list every resource of the template (DescribeStackResources, ListStackResources),
  one whose Condition is false or whose type moto lacks as an entry without a logical id, type
  or physical id, and a security group rule without a physical id. Taught here: a stack holds
  the resources whose Condition holds, as the change sets that made them listed them, each with
  a physical id (stack_resources, Recorded); an `AWS::ApplicationAutoScaling::ScalingPolicy`
  goes through moto's Application Auto Scaling API (ScalingPolicy), a bucket policy or an SNS
  subscription is only recorded.
- Executing a CREATE change set leaves moto's stack without outputs or exports, and it resolves
  `Fn::ImportValue` against no exports at all; executing an UPDATE leaves the outputs as they were.
- No `Fn::GetAtt` of a target group's `TargetGroupFullName`, a load balancer's
  `LoadBalancerFullName` and `CanonicalHostedZoneID`, a hosted zone's `NameServers` or a VPC's
  `Ipv6CidrBlocks`; no `Fn::Cidr`
  and no `AWS::EC2::VPCCidrBlock` (moto's VPCs get their IPv6 range from moto's EC2 API instead).
- `!Ref AWS::NoValue` as an item of a list stays in the list as null instead of removing the item.
- Its YAML reader turns the short form `!Condition Name` into `Fn::Condition`, which its
  condition functions do not know: `!And [!Condition A, ...]` is then always false.
- It exports the outputs whose Condition is false too (and fails evaluating them).
- Its ECS takes from a stack a cluster without its capacity providers, a task definition
  without its runtime platform (the CPU architecture) and CPU, and a service with launch type
  EC2 and no capacity provider strategy.
- It accepts any parameter value; AWS refuses a value outside AllowedValues or AllowedPattern.
- It describes a list parameter's value as a Python list; AWS gives the comma-separated text.
- Its Route 53 deletes only records it remembers creating through its own API, where AWS
  deletes any record given exactly; records a stack creates go through that API here.
- No `AWS::IAM::OIDCProvider` and no `AWS::CertificateManager::Certificate`. Taught here, the
  certificate is requested from moto's ACM, stays PENDING_VALIDATION for a minute, and its DNS
  validation record goes into the hosted zone named in DomainValidationOptions, as
  CloudFormation does; the stack does not wait for the validation (nothing answers DNS here),
  where AWS waits until the record answers.
- A certificate whose DomainValidationOptions name no hosted zone (DnsProvider external) is
  validated through a record its user creates at their own DNS provider. AWS keeps it
  PENDING_VALIDATION, and the stack's creation CREATE_IN_PROGRESS with the certificate in
  progress and no outputs, until that record answers ("if the domain is not hosted in Route 53,
  then the stack will remain in the CREATE_IN_PROGRESS state",
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-certificatemanager-certificate.html);
  moto issues every certificate after a minute and completes the stack at once. Taught here:
  the provider is PUBLIC_DNS below, where tests and the rehearsal create the records a user
  would (a rehearsal in another process over HTTP, at PUBLIC_DNS_PATH: the server's one route
  that is no AWS API), and the creation completes at the first DescribeStacks after the exact
  record DescribeCertificate names is there. (An update that replaces such a certificate still
  completes at once here.)

AWS refusals moto does not make (each failure is reported the way CloudFormation reports it: the
resource's *_FAILED event with AWS's message, then the stack's rollback or DELETE_FAILED):
- An export that another stack imports cannot change or disappear, and its stack cannot be
  deleted ("Fn::ImportValue": "you can't delete the stack that is exporting the output value or
  modify the exported output value").
- ACM refuses a DomainName (the certificate's common name) over 64 octets (RequestCertificate).
- Route 53 refuses to create a record that exists ("Tried to create resource record set ... but
  it already exists"), and a record beside a CNAME of the same name (Developer Guide, "CNAME
  record type"); it refuses to delete a hosted zone that holds records other than its NS and SOA
  (DeleteHostedZone: HostedZoneNotEmpty), which CloudFormation meets when a certificate's
  validation record is left behind (cloudformation-coverage-roadmap#837).
- In a fresh account, CreateCluster fails when the ECS service-linked role does not exist yet
  (cloudformation-coverage-roadmap#818, containers-roadmap#2614); IAM names that role
  AWSServiceRoleForECS and refuses to create it twice ("has been taken in this account").
- An account holds one OIDC provider per URL (IAM: EntityAlreadyExists).
- STS grants a role to a web identity token only when the account has an OIDC provider for the
  token's issuer and audience, and the role's trust policy allows that provider and the token's
  claims (`StringEquals`/`StringLike` on `<issuer>:aud` and `<issuer>:sub`); else "Not authorized
  to perform sts:AssumeRoleWithWebIdentity" (AssumeRoleWithWebIdentity in the STS API
  Reference; IAM User Guide, "Available keys for OIDC federation"). moto grants any role to any
  token, so a deploy role no GitHub token can assume passes there.
- A service takes a launch type or a capacity provider strategy, not both, and its strategy
  names only capacity providers associated with its cluster (CreateService,
  CapacityProviderStrategyItem in the ECS API Reference).
- Deleting a stack keeps the resources whose DeletionPolicy is RetainExceptOnCreate, as those
  of Retain ("DeletionPolicy attribute"); moto deletes them.
- Deleting a stack deletes every resource it holds but those it retains (DeletionPolicy:
  "CloudFormation deletes the resource and all its content if applicable during stack
  deletion", https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html);
  moto leaves its internet gateway (attached), NAT gateways, target groups, ECS clusters,
  services and task definitions in place. Taught through their APIs: the gateway's attachment
  detaches it, the gateway goes once detached (DeleteInternetGateway), a NAT gateway turns
  "deleted" (DeleteNatGateway; EC2 shows it so for a while), a target group once no listener or rule
  uses it, a cluster and a service turn INACTIVE (DeleteCluster, DeleteService), a task
  definition's revision is deregistered and stays INACTIVE ("INACTIVE task definitions remain
  discoverable in your account indefinitely", DeregisterTaskDefinition, ECS API Reference).
- Deleting a stack deletes its route tables before the VPC (moto leaves them, and the VPC's
  deletion fails with DependencyViolation).
- An update that replaces a hosted zone, a record group or a certificate (a new DomainName)
  creates the new one, and deletes the old one in its cleanup phase; a deletion refused there
  leaves the resource behind, outside the stack, and the update still succeeds (CloudFormation
  troubleshooting, "Resource removed from stack but not deleted"). moto loses such a resource
  from the stack instead.
"""

import base64
import contextlib
import fnmatch
import hashlib
import ipaddress
import json
import re

from moto.acm.models import CertBundle, acm_backends
from moto.applicationautoscaling.exceptions import AWSValidationException
from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import Change, ChangeSet, CloudFormationBackend, Event, Stack
from moto.core.common_models import CloudFormationModel
from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ec2.models import ec2_backends
from moto.ec2.models.internet_gateways import InternetGateway
from moto.ec2.models.nat_gateways import NatGateway
from moto.ec2.models.vpcs import VPC
from moto.ec2.models.vpn_gateway import VPCGatewayAttachment
from moto.ecs.models import Cluster, Service, TaskDefinition, ecs_backends
from moto.elbv2.models import FakeLoadBalancer, FakeTargetGroup, elbv2_backends
from moto.iam.exceptions import InvalidInput
from moto.iam.models import IAMBackend, iam_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.route53.models import (
    DelegationSet,
    FakeZone,
    HostedZoneIdentifier,
    RecordSetGroup,
    route53_backends,
)
from moto.sts.exceptions import STSClientError
from moto.sts.responses import TokenResponse as STSResponse
from moto.utilities.utils import get_partition
from werkzeug.wrappers import Request, Response

from flask_fargate.external_dns import Answer
from flask_fargate.stacks import conditions_of, references

# The service-linked roles the deploy tool creates, by AWS service name, named as IAM names them.
SERVICE_LINKED_ROLES = {
    "ecs.amazonaws.com": "AWSServiceRoleForECS",
    "elasticloadbalancing.amazonaws.com": "AWSServiceRoleForElasticLoadBalancing",
    "ecs.application-autoscaling.amazonaws.com": (
        "AWSServiceRoleForApplicationAutoScaling_ECSService"
    ),
}


class AwsRefusal(Exception):
    """What AWS answers when it refuses a resource operation (its own message)."""


class ResourceFailed(Exception):
    """A resource's operation failed: the event CloudFormation records for it."""

    def __init__(self, logical_id, resource_type, reason):
        super().__init__(reason)
        self.logical_id, self.resource_type, self.reason = logical_id, resource_type, reason


# ---------------------------------------------------------------- change sets


moto_create_change_set = CloudFormationBackend.create_change_set


# behaviour: cfn.parameters.constraints-enforced
def create_change_set(self, stack_name, change_set_name, template, parameters, *args, **kwargs):
    """Refuse parameter values outside the template's constraints, with AWS's messages; an
    update's change set whose template and resolved parameter values are the stack's has no
    changes (settle_unchanged)."""
    declared = Stack.parse_template(template).get("Parameters", {})
    parameters = {key: as_text(value) for key, value in parameters.items()}
    for key, value in parameters.items():
        allowed = declared.get(key, {}).get("AllowedValues")
        pattern = declared.get(key, {}).get("AllowedPattern")
        if allowed is not None and value not in [str(item) for item in allowed]:
            raise ValidationError(message=f"Parameter '{key}' must be one of AllowedValues")
        if pattern is not None and not re.fullmatch(pattern, str(value)):
            raise ValidationError(message=f"Parameter '{key}' must match pattern {pattern}")
    change_set_type = kwargs.get("change_set_type")
    reviewed = None
    if change_set_type == "CREATE":
        reviewed = one_stack_per_name(self, stack_name, change_set_name)
    change_set_id, stack_id = moto_create_change_set(
        self, stack_name, change_set_name, template, parameters, *args, **kwargs
    )
    if reviewed is not None:  # the change set goes to the stack under review, moto's new one
        change_set = self.change_sets[change_set_id]
        del self.stacks[stack_id]
        change_set.stack, change_set.stack_id = reviewed, reviewed.stack_id
        stack_id = reviewed.stack_id
    if change_set_type == "UPDATE":
        settle_unchanged(self.change_sets[change_set_id])
    return change_set_id, stack_id


# DescribeChangeSet's StatusReason of a change set that changes nothing (ansible-collections/
# amazon.aws#507; aws-cdk's changeSetHasNoChanges reads it, with Status FAILED).
NO_CHANGES = (
    "The submitted information didn't contain changes. Submit different information to create a "
    "change set."
)


def settle_unchanged(change_set):
    """An update's change set "compares the stack's information with the information that you
    submit" (CreateChangeSet, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html):
    the template, and each parameter's value, whether given, kept (UsePreviousValue) or left to
    its default ("If you don't specify a key and value for a particular parameter, CloudFormation
    uses the default value", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Parameter.html).
    Both the same: status FAILED, NO_CHANGES. moto compares the values as given, so a default
    given explicitly, or left out after it was given, made a change set of no changes."""
    stack = change_set.stack
    after = resolved(stack.resource_map, change_set.template_dict, change_set.parameters)
    if stack.has_template(change_set.template) and values_of(after) == values_of(
        stack.resource_map
    ):
        change_set.status, change_set.execution_status = "FAILED", "UNAVAILABLE"
        change_set.status_reason = NO_CHANGES
    else:
        change_set.status, change_set.execution_status = "CREATE_COMPLETE", "AVAILABLE"
        change_set.status_reason = None


def one_stack_per_name(backend, stack_name, change_set_name):
    """A CREATE change set names a stack that does not exist yet, or one REVIEW_IN_PROGRESS
    (made by an earlier CREATE change set never executed), which it then reuses; any other
    stack of that name is refused ("Stack [name] already exists and cannot be created again
    with the changeSet [name]", compose-x/ecs_composex#785; aws-cli's `cloudformation deploy`
    creates a CREATE change set for a stack in REVIEW_IN_PROGRESS, awscli/customizations/
    cloudformation/deployer.py has_stack). moto makes a second stack of the same name.
    Returns the stack under review, if any."""
    for stack in backend.stacks.values():
        if stack.name != stack_name:
            continue
        if stack.status == "REVIEW_IN_PROGRESS":
            return stack
        raise ValidationError(
            message=f"Stack [{stack_name}] already exists and cannot be created again with "
            f"the changeSet [{change_set_name}]."
        )
    return None


def as_text(value):
    """A parameter value as CloudFormation takes it: text, a list's items joined by commas."""
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def values_of(resources):
    """A ResourceMap's parameter values, as text: moto keeps a value given as a number or a list,
    and a default as the template's YAML reads it."""
    return {key: as_text(value) for key, value in resources.resolved_parameters.items()}


# Properties whose change replaces the resource ("Update requires: Replacement" on each
# resource type's page of the CloudFormation Template Reference); any other property is updated
# in place. Every property of a task definition replaces it (a new revision).
REPLACING = {
    "AWS::EC2::VPC": {"CidrBlock"},
    "AWS::EC2::VPCCidrBlock": {"AmazonProvidedIpv6CidrBlock", "CidrBlock", "VpcId"},
    "AWS::EC2::Subnet": {"AvailabilityZone", "AvailabilityZoneId", "CidrBlock", "VpcId"},
    "AWS::EC2::RouteTable": {"VpcId"},
    "AWS::EC2::Route": {"RouteTableId", "DestinationCidrBlock", "DestinationIpv6CidrBlock"},
    "AWS::EC2::SubnetRouteTableAssociation": {"RouteTableId", "SubnetId"},
    "AWS::EC2::SecurityGroup": {"GroupDescription", "GroupName", "VpcId"},
    "AWS::EC2::SecurityGroupIngress": {"GroupId", "IpProtocol", "FromPort", "ToPort"},
    "AWS::EC2::NatGateway": {"AllocationId", "SubnetId", "ConnectivityType"},
    "AWS::EC2::EIP": {"Domain"},
    "AWS::ElasticLoadBalancingV2::LoadBalancer": {"Name", "Scheme", "Type"},
    "AWS::ElasticLoadBalancingV2::TargetGroup": {
        "Name",
        "Port",
        "Protocol",
        "ProtocolVersion",
        "TargetType",
        "VpcId",
        "IpAddressType",
    },
    "AWS::ElasticLoadBalancingV2::Listener": {"LoadBalancerArn"},
    "AWS::ElasticLoadBalancingV2::ListenerRule": {"ListenerArn"},
    "AWS::ElasticLoadBalancingV2::ListenerCertificate": {"Certificates", "ListenerArn"},
    "AWS::Route53::HostedZone": {"Name"},
    "AWS::CertificateManager::Certificate": {
        "DomainName",
        "SubjectAlternativeNames",
        "DomainValidationOptions",
        "ValidationMethod",
    },
    "AWS::ECR::Repository": {"RepositoryName"},
    "AWS::ECS::Cluster": {"ClusterName"},
    "AWS::ECS::Service": {"Cluster", "Role", "SchedulingStrategy", "ServiceName"},
    "AWS::Logs::LogGroup": {"LogGroupName"},
    "AWS::S3::Bucket": {"BucketName"},
    "AWS::SecretsManager::Secret": {"Name"},
    "AWS::IAM::Role": {"RoleName", "Path"},
    "AWS::IAM::ManagedPolicy": {"ManagedPolicyName", "Path"},
    "AWS::IAM::OIDCProvider": {"Url"},
    "AWS::SNS::Topic": {"TopicName", "FifoTopic"},
    "AWS::SNS::Subscription": {"Endpoint", "Protocol", "TopicArn"},
    "AWS::CloudWatch::Alarm": {"AlarmName"},
    "AWS::ApplicationAutoScaling::ScalableTarget": {
        "ResourceId",
        "ScalableDimension",
        "ServiceNamespace",
    },
    "AWS::ApplicationAutoScaling::ScalingPolicy": {
        "PolicyName",
        "ResourceId",
        "ScalableDimension",
        "ServiceNamespace",
        "ScalingTargetId",
    },
}
ALWAYS_REPLACED = {"AWS::ECS::TaskDefinition"}


def resolved(stacks_map, template, parameters):
    """The template's ResourceMap for the stack of `stacks_map` with these parameter values:
    parameters and conditions evaluated, nothing created."""
    resources = parsing.ResourceMap(
        stacks_map.stack_id, stacks_map["AWS::StackName"], parameters, stacks_map.tags,
        stacks_map._region_name, stacks_map._account_id, template, None,
    )  # fmt: skip
    resources.load_mapping()
    resources.load_parameters()
    resources.load_conditions()
    return resources


def exists(resources, name):
    """True when the resource is in the template and its Condition holds: CloudFormation creates
    a resource only when its condition is true ("Condition attribute", CloudFormation Template
    Reference: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-condition.html)."""
    spec = resources._resource_json_map.get(name)
    condition = (spec or {}).get("Condition")
    return spec is not None and (not condition or bool(resources.lazy_condition_map[condition]))


# behaviour: cfn.update.sub-and-replacement-order
def planned_changes(before, after):
    """What CloudFormation changes going from the ResourceMap `before` (None: a creation) to
    `after`, as DescribeChangeSet's ResourceChanges: {logical id: {Action, ResourceType,
    Replacement, Scope, Details}}, in the order of `after`'s template. A resource is added when
    it comes to exist (its Condition), removed when it no longer does, and modified when its
    definition changes, or a property reads (Ref, Fn::Sub, Fn::GetAtt, a condition of Fn::If) a
    parameter whose value changes or a resource that is replaced; the property's change replaces
    the resource per REPLACING ("Update behaviors of stack resources"; ResourceChange,
    ResourceChangeDetail and ResourceTargetDefinition in the CloudFormation API Reference)."""
    new, old = after._resource_json_map, before._resource_json_map if before else {}
    changes = {
        name: {"Action": "Add", "ResourceType": new[name]["Type"]}
        for name in new
        if exists(after, name) and not (before and exists(before, name))
    }
    changes |= {
        name: {"Action": "Remove", "ResourceType": old[name]["Type"]}
        for name in old
        if exists(before, name) and not exists(after, name)
    }
    if before is None:
        return changes
    values_before = values_of(before)
    changed_parameters = {
        key for key, value in values_of(after).items() if values_before.get(key) != value
    }
    conditions = after._template.get("Conditions", {})
    kept = [name for name in new if exists(before, name) and exists(after, name)]
    replaced = set()
    while True:
        modified = {
            name: details
            for name in kept
            if (
                details := change_details(
                    old[name], new[name], changed_parameters, replaced, conditions
                )
            )  # fmt: skip
        }
        now_replaced = {name for name, details in modified.items() if replaces(new[name], details)}
        if now_replaced == replaced:
            break
        replaced = now_replaced
    for name, details in modified.items():
        changes[name] = {
            "Action": "Modify",
            "ResourceType": new[name]["Type"],
            "Replacement": "True" if name in replaced else "False",
            "Scope": sorted({detail["Target"]["Attribute"] for detail in details}),
            "Details": details,
        }
    return changes


def change_details(old, new, changed_parameters, replaced, conditions):
    """A kept resource's ResourceChangeDetails (none: it does not change)."""
    details = []
    before, after = old.get("Properties", {}), new.get("Properties", {})
    always = new["Type"] in ALWAYS_REPLACED
    for key in sorted(set(before) | set(after)):
        recreation = "Always" if always or key in REPLACING.get(new["Type"], ()) else "Never"
        target = {
            "Attribute": "Tags" if key == "Tags" else "Properties",
            "Name": key,
            "RequiresRecreation": recreation,
        }
        if before.get(key) != after.get(key):
            details.append(
                {"Target": target, "Evaluation": "Static", "ChangeSource": "DirectModification"}
            )
            continue
        read = set(references(after.get(key)))
        for parameter in sorted(
            (read | parameters_behind(conditions_of(after.get(key)), conditions))
            & changed_parameters
        ):
            details.append(
                {
                    "Target": target,
                    "Evaluation": "Static",
                    "ChangeSource": "ParameterReference",
                    "CausingEntity": parameter,
                }
            )
        for resource in sorted(read & replaced):
            details.append(
                {
                    "Target": target,
                    "Evaluation": "Dynamic",
                    "ChangeSource": "ResourceReference",
                    "CausingEntity": resource,
                }
            )
    others = {key for key in set(old) | set(new) if key not in ("Properties", "Condition")}
    if not details and any(old.get(key) != new.get(key) for key in others):
        # DependsOn, Metadata, an update or deletion policy: the template changes, the
        # resource does not (CloudFormation records it all the same).
        target = {"Attribute": "Metadata", "RequiresRecreation": "Never"}
        details.append(
            {"Target": target, "Evaluation": "Static", "ChangeSource": "DirectModification"}
        )
    return details


def replaces(resource, details):
    return any(detail["Target"]["RequiresRecreation"] == "Always" for detail in details)


def in_dependency_order(names, template):
    """The names, each after those it refers to (CloudFormation updates a resource after the
    resources its properties read)."""
    ordered = []

    def after_its_references(name):
        if name in ordered:
            return
        ordered.append(None)  # a placeholder: a cycle of references ends here
        spot = len(ordered) - 1
        for reference in set(references(template[name])) & set(names) - {name}:
            after_its_references(reference)
        ordered.pop(spot)
        ordered.append(name)

    for name in names:
        after_its_references(name)
    return [name for name in ordered if name is not None]


def change_set_diff(self):
    """The change set's changes as CloudFormation computes them (planned_changes)."""
    stack = self.stack
    before = stack.resource_map if stack.status != "REVIEW_IN_PROGRESS" else None
    after = resolved(stack.resource_map, self.template_dict, self.parameters)
    changes = []
    for name, change in planned_changes(before, after).items():
        listed = Change(change["Action"], name, change["ResourceType"])
        listed.replacement = change.get("Replacement")
        listed.scope = change.get("Scope")
        listed.details = change.get("Details")
        changes.append(listed)
    return changes


# behaviour: cfn.update.parameter-through-condition, cfn.update.sub-and-replacement-order
def build_resource_diff(self, other_template, parameters=None):
    """What an update does: planned_changes, the change set's, each modified resource after
    those it reads. (moto's updates every resource whose definition differs or that names a
    changed parameter with Ref, and none that reads it otherwise.)"""
    after = resolved(self, other_template, parameters if parameters is not None else {})
    changes = planned_changes(self, after)
    by_action = {"Add": [], "Modify": [], "Remove": []}
    for name, change in changes.items():
        by_action[change["Action"]].append(name)
    by_action["Modify"] = in_dependency_order(by_action["Modify"], other_template["Resources"])
    return by_action


def execute_change_set(self, change_set_name, stack_name=None):
    change_set = self.describe_change_set(change_set_name)
    stack = self.stacks[change_set.stack_id]
    if change_set.change_set_type == "CREATE":
        create_stack_resources(self, stack, change_set)
    else:
        update_stack_resources(self, stack, change_set)
    change_set.execution_status = "EXECUTE_COMPLETE"


# behaviour: cfn.changeset.create-has-outputs
def create_stack_resources(backend, stack, change_set):
    """What moto's create_stack does, with a failed resource rolling the creation back."""
    stack.template = change_set.template
    stack._parse_template()
    stack.parameters = change_set.parameters
    stack.cross_stack_resources = backend.exports
    stack.resource_map = stack._create_resource_map()
    stack.output_map = stack._create_output_map()
    stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
    try:
        stack.create_resources()
    except ResourceFailed as failure:
        record_failure(stack, "CREATE_FAILED", failure)
        stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=failure.reason)
        with contextlib.suppress(Exception):
            stack.resource_map.delete()
        stack._add_stack_event("ROLLBACK_COMPLETE")
        stack.status = "ROLLBACK_COMPLETE"
        return
    waiting = [r for r in stack.resource_map.values() if r is not None and not r.is_created()]
    if waiting:
        for resource in waiting:
            record_event(
                stack,
                resource.logical_resource_id,
                resource.cloudformation_type(),
                "CREATE_IN_PROGRESS",
                resource.waiting_reason(),
                resource.physical_resource_id,
            )
        WAITING[stack.stack_id] = waiting
        return
    backend._validate_export_uniqueness(stack)
    publish_exports(backend, stack, set())


# Creations that wait for resources (stack id -> those resources), finished once they are ready.
WAITING = {}


# behaviour: acm.cfn.external-dns-waits
def finish_waiting_creations(backend):
    """CloudFormation carries on with a creation once the resources it waits for are ready."""
    for stack_id, resources in list(WAITING.items()):
        stack = backend.stacks.get(stack_id)
        if stack is None or stack.status != "CREATE_IN_PROGRESS":
            del WAITING[stack_id]
        elif all(resource.is_created() for resource in resources):
            del WAITING[stack_id]
            for resource in resources:
                record_event(
                    stack,
                    resource.logical_resource_id,
                    resource.cloudformation_type(),
                    "CREATE_COMPLETE",
                    None,
                    resource.physical_resource_id,
                )
            stack.mark_creation_complete()
            backend._validate_export_uniqueness(stack)
            publish_exports(backend, stack, set())


moto_describe_stacks = CloudFormationBackend.describe_stacks
moto_outputs = Stack.outputs.fget


def describe_stacks(self, name_or_stack_id):
    finish_waiting_creations(self)
    return moto_describe_stacks(self, name_or_stack_id)


# behaviour: cfn.stack.no-outputs-while-creating
def outputs(self):
    """A stack being created has no outputs yet."""
    return None if self.status == "CREATE_IN_PROGRESS" else moto_outputs(self)


def update_stack_resources(backend, stack, change_set):
    """What moto's update does, rolled back when a resource fails or an export in use changes."""
    before = (stack.template, dict(stack.parameters))
    exported = {export.name: export.value for export in stack.exports}
    try:
        update_to(stack, change_set.template, change_set.parameters)
        refuse_changed_exports_in_use(backend, stack, exported)
    except ResourceFailed as failure:
        REPLACED.clear()
        if stack.events[-1].resource_status == "UPDATE_COMPLETE":
            stack.events.pop()  # moto's, before the export check failed the update
        if failure.logical_id != stack.name:
            record_failure(stack, "UPDATE_FAILED", failure)
        stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=failure.reason)
        shown = len(stack.events)
        with contextlib.suppress(Exception):
            update_to(stack, *before)
        del stack.events[shown:]  # moto's events of the rollback's own update
        stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
        return
    clean_up(stack)
    publish_exports(backend, stack, set(exported))


def update_to(stack, template, parameters):
    """moto's update of the stack, which keeps the stack's old parameter values when it is given
    none (all the template's defaults): a rollback to such values then kept the failed ones."""
    stack.resource_map.input_parameters = dict(parameters)
    stack.update(template, parameters=parameters)
    stack.parameters = dict(parameters)
    forget_resources_removed(stack.resource_map)


def forget_resources_removed(resources):
    """A resource whose Condition turned false is deleted and leaves the stack's resources
    ("Condition attribute": CloudFormation deletes it on the update,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-condition.html).
    moto deletes it but keeps it listed, and deleting the stack then deletes it a second time."""
    for name in resources._resource_json_map:
        if name in resources._parsed_resources and not exists(resources, name):
            del resources._parsed_resources[name]


# behaviour: cfn.parameters.list-as-text
def parameter_list(self):
    """The stack's parameters as DescribeStacks gives them: every value as text."""
    return [
        {
            "ParameterKey": key,
            "ParameterValue": "****"
            if key in self.resource_map.no_echo_parameter_keys
            else ",".join(map(str, value))
            if isinstance(value, list)
            else value,
        }
        for key, value in self.resource_map.resolved_parameters.items()
    ]


# Resources an update replaced, (resource, type, account, region), deleted in its cleanup phase.
REPLACED = []


# behaviour: cfn.update.replacement-cleanup
def replace_resource(
    cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
):
    """An update that replaces the resource: the new one now, the old one in the cleanup."""
    new = cls.create_from_cloudformation_json(
        new_resource_name, cloudformation_json, account_id, region_name
    )
    REPLACED.append((original_resource, cloudformation_json["Type"], account_id, region_name))
    return new


# behaviour: cfn.update.replacement-cleanup
def clean_up(stack):
    """The update's cleanup phase: the replaced resources, newest first."""
    while REPLACED:
        resource, resource_type, account_id, region_name = REPLACED.pop()
        try:
            resource.delete(account_id, region_name)
        except AwsRefusal as refusal:
            left = ResourceFailed(resource.logical_resource_id, resource_type, str(refusal))
            record_failure(stack, "DELETE_FAILED", left)


def publish_exports(backend, stack, previous_names):
    current = {export.name: export for export in stack.exports}
    for name in previous_names - set(current):
        backend.exports.pop(name, None)
    backend.exports.update(current)


def record_failure(stack, status, failure):
    record_event(stack, failure.logical_id, failure.resource_type, status, failure.reason)


def record_event(stack, logical_id, resource_type, status, reason, physical_id=""):
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=logical_id,
            physical_resource_id=physical_id,
            resource_type=resource_type,
            resource_status=status,
            resource_status_reason=reason,
            resource_properties=None,
        )
    )


# ---------------------------------------------------------------- exports in use


# behaviour: cfn.importvalue-inside-if
def imports_of(backend, name):
    """Names of the stacks, other than its own, whose templates import the export `name`."""

    def imported(node, resources):
        if isinstance(node, dict):
            if set(node) == {"Fn::ImportValue"}:
                yield moto_clean_json(node["Fn::ImportValue"], resources)
            for value in node.values():
                yield from imported(value, resources)
        elif isinstance(node, list):
            for item in node:
                yield from imported(item, resources)

    exporter = backend.exports[name].exporting_stack_id if name in backend.exports else None
    return sorted(
        stack.name
        for stack in backend.stacks.values()
        if stack.stack_id != exporter
        and stack.status not in ("REVIEW_IN_PROGRESS", "DELETE_COMPLETE")
        and name in set(imported(stack.template_dict, stack.resource_map))
    )


# behaviour: cfn.exports.in-use-immutable
def refuse_changed_exports_in_use(backend, stack, exported_before):
    now = {export.name: export.value for export in stack.exports}
    for name, value in exported_before.items():
        users = imports_of(backend, name)
        if users and now.get(name, value) != value:
            reason = f"Export {name} cannot be updated as it is in use by {', '.join(users)}"
        elif users and name not in now:
            reason = f"Export {name} cannot be deleted as it is in use by {', '.join(users)}"
        else:
            continue
        raise ResourceFailed(stack.name, "AWS::CloudFormation::Stack", reason)


# behaviour: cfn.exports.in-use-immutable, cfn.deletion-policy.retain-except-on-create
def delete_stack(self, name_or_stack_id):
    """moto's delete_stack, refusing as AWS does and reporting a failed resource as AWS does."""
    stack = next(
        (s for s in self.stacks.values() if name_or_stack_id in (s.stack_id, s.name)), None
    )
    if stack is None:
        return  # AWS answers a deletion of a missing stack with success, too
    exported = stack.exports
    for export in exported:
        users = imports_of(self, export.name)
        if users:
            # The stack stays as it was, with the reason; no deletion starts (aws-cdk#604).
            stack.stack_status_reason = (
                f"Export {export.name} cannot be deleted as it is in use by {', '.join(users)}"
            )
            return
    # A deleted stack keeps a resource whose DeletionPolicy is RetainExceptOnCreate (only the
    # rollback of its own creation deletes it: "DeletionPolicy attribute", CloudFormation User
    # Guide); moto keeps only Retain's.
    for resource in stack.resource_map._resource_json_map.values():
        if resource.get("DeletionPolicy") == "RetainExceptOnCreate":
            resource["DeletionPolicy"] = "Retain"
    try:
        stack.delete()
    except ResourceFailed as failure:
        record_failure(stack, "DELETE_FAILED", failure)
        stack._add_stack_event(
            "DELETE_FAILED",
            resource_status_reason=f"The following resource(s) failed to delete: "
            f"[{failure.logical_id}].",
        )
        stack.status = "DELETE_FAILED"
        return
    del self.stacks[stack.stack_id]
    self.deleted_stacks[stack.stack_id] = stack
    for export in exported:
        self.exports.pop(export.name, None)


# ---------------------------------------------------------------- resources


moto_parse_and_create_resource = parsing.parse_and_create_resource
moto_parse_and_update_resource = parsing.parse_and_update_resource
moto_delete_resource = parsing.ResourceMap._delete_resource


def parse_and_create_resource(logical_id, resource_json, resources_map, account_id, region_name):
    """moto's resource creation, with AWS's refusals reported against the resource; a resource of
    a type moto lacks is Recorded."""
    try:
        if resource_json["Type"] == "AWS::ECS::Cluster":
            require_ecs_service_linked_role(account_id)
        refuse_descriptions_ec2_refuses(resource_json)
        created = moto_parse_and_create_resource(
            logical_id, resource_json, resources_map, account_id, region_name
        )
    except AwsRefusal as refusal:
        raise ResourceFailed(logical_id, resource_json["Type"], str(refusal)) from None
    stack_name = resources_map["AWS::StackName"]
    if created is None and exists(resources_map, logical_id):  # a type moto lacks
        created = Recorded(logical_id, resource_json["Type"], stack_name)
    elif created is not None and not hasattr(created, "physical_resource_id"):
        # moto's security group rules have none; each resource of a stack has one on AWS
        created.physical_resource_id = generated_id(
            created.cf_resource_type, stack_name, logical_id
        )
    return created


def generated_id(resource_type, stack_name, logical_id):
    """A physical id as CloudFormation generates one for a resource it is not given a name for:
    "MyStack-MyBucket-abcdefghijk1" ("CloudFormation resource custom naming",
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html)."""
    return parsing.generate_resource_name(resource_type, stack_name, logical_id)


class Recorded:
    """A resource of a type that moto lacks and the stand-in does not make (a bucket policy, an
    SNS subscription): nothing is made, but the stack holds it, with a generated_id. moto lists
    it in the stack without a logical id, type or physical id."""

    def __init__(self, logical_id, resource_type, stack_name):
        self.logical_resource_id, self.cf_resource_type = logical_id, resource_type
        self.physical_resource_id = generated_id(resource_type, stack_name, logical_id)

    def is_created(self):
        return True

    def get_cfn_attribute(self, attribute):
        raise NotImplementedError(  # moto then warns with this, and gives None
            f"{self.logical_resource_id}.{attribute}: the stand-in makes no {self.cf_resource_type}"
        )

    def delete(self, account_id, region_name):
        """Nothing was made, so nothing is left to delete."""


# behaviour: cfn.changeset.false-condition-absent
def stack_resources(self):
    """The resources the stack holds (DescribeStackResources, ListStackResources): those whose
    Condition holds, each made, as the change sets that made them listed them. moto lists every
    resource of the template, as None (no logical id, type or physical id) where it made none,
    and makes, while listing, one not made yet."""
    made = self.resource_map._parsed_resources
    return [
        made[name]
        for name in self.resource_map._resource_json_map
        if made.get(name) is not None and exists(self.resource_map, name)
    ]


# What EC2 takes in a security group's description and in a rule's: CreateSecurityGroup's
# GroupDescription "a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{}!$*", and a rule's Description
# the same without "&" (IpRange, UserIdGroupPair, PrefixListId in the EC2 API Reference:
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html). moto takes any text;
# CloudFormation's create fails with "Invalid rule description".
GROUP_DESCRIPTION = ("group description", "._-:/()#,@[]+=&;{}!$*")
RULE_DESCRIPTION = ("rule description", "._-:/()#,@[]+=;{}!$*")


def refuse_descriptions_ec2_refuses(resource_json):
    """A security group, or a rule of one, whose description holds a character EC2 refuses; the
    text of a Fn::Sub is checked without its ${...} (stack names and ids are safe)."""
    properties = resource_json.get("Properties", {})
    kind = resource_json["Type"]
    if kind == "AWS::EC2::SecurityGroup":
        texts = [(properties.get("GroupDescription"), GROUP_DESCRIPTION)]
        for key in ("SecurityGroupIngress", "SecurityGroupEgress"):
            texts += [
                (rule.get("Description"), RULE_DESCRIPTION) for rule in properties.get(key, [])
            ]
    elif kind in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
        texts = [(properties.get("Description"), RULE_DESCRIPTION)]
    else:
        return
    for text, (what, punctuation) in texts:
        if isinstance(text, dict) and "Fn::Sub" in text:
            sub = text["Fn::Sub"]
            text = re.sub(r"\$\{[^}]*\}", "", sub if isinstance(sub, str) else sub[0])
        if isinstance(text, str) and not re.fullmatch(
            f"[a-zA-Z0-9 {re.escape(punctuation)}]*", text
        ):
            raise AwsRefusal(
                f"Invalid {what}: {text!r} (EC2 allows a-z, A-Z, 0-9, spaces and {punctuation})"
            )


# behaviour: cfn.changeset.false-condition-absent
def parse_and_update_resource(logical_id, resource_json, resources_map, account_id, region_name):
    """moto's resource update, for resources that exist: those whose Condition holds. A type
    moto cannot update (a log group, a bucket) keeps its resource, as an update in place does
    on AWS (its properties stay moto's old ones), where moto would lose it from the stack, and
    its Ref and exports with it."""
    condition = resource_json.get("Condition")
    if condition and not resources_map.lazy_condition_map[condition]:
        return None
    try:
        refuse_descriptions_ec2_refuses(resource_json)
        updated = moto_parse_and_update_resource(
            logical_id, resource_json, resources_map, account_id, region_name
        )
    except AwsRefusal as refusal:
        raise ResourceFailed(logical_id, resource_json["Type"], str(refusal)) from None
    return resources_map[logical_id] if updated is None else updated


def delete_resource(self, parsed_resource, resource_json):
    try:
        moto_delete_resource(self, parsed_resource, resource_json)
    except AwsRefusal as refusal:
        raise ResourceFailed(
            parsed_resource.logical_resource_id, resource_json["Type"], str(refusal)
        ) from None


# behaviour: ecs.service-linked-role-required
def require_ecs_service_linked_role(account_id):
    roles = {role.name for role in iam_backends[account_id]["global"].get_roles()}
    if SERVICE_LINKED_ROLES["ecs.amazonaws.com"] not in roles:
        raise AwsRefusal(
            'Resource handler returned message: "Invalid request provided: CreateCluster '
            "Invalid Request: Unable to assume the service linked role. Please verify that the "
            'ECS service linked role exists."'
        )


moto_create_service_linked_role = IAMBackend.create_service_linked_role


# behaviour: iam.service-linked-role-once
def create_service_linked_role(self, service_name, description, suffix):
    name = SERVICE_LINKED_ROLES.get(service_name)
    if name is None:
        return moto_create_service_linked_role(self, service_name, description, suffix)
    if name in {role.name for role in self.get_roles()}:
        raise InvalidInput(
            f"Service role name {name} has been taken in this account, please try a "
            "different suffix."
        )
    role = moto_create_service_linked_role(self, service_name, description, suffix)
    role.name = name
    return role


def route53_of(account_id, region_name):
    return route53_backends[account_id][get_partition(region_name)]


def zone_of(account_id, region_name, zone_id):
    return route53_of(account_id, region_name).get_hosted_zone(zone_id)


# behaviour: route53.delete-any-exact-record
def create_record(account_id, region_name, zone_id, record):
    """Create a record through Route 53's API (CloudFormation's way), in its API form."""
    change = {"Action": "CREATE", "ResourceRecordSet": record}
    route53_of(account_id, region_name).change_resource_record_sets(zone_id, [change])


# behaviour: route53.create-existing-record-refused
def create_record_set_group(cls, resource_name, cloudformation_json, account_id, region_name, **kw):
    """Add the group's records as Route 53's CREATE action does: never over an existing record."""
    properties = cloudformation_json["Properties"]
    zone = zone_of(account_id, region_name, properties["HostedZoneId"])
    for record in properties["RecordSets"]:
        name, kind = fqdn(record["Name"]), record["Type"]
        for existing in zone.rrsets:
            if fqdn(existing.name) != name:
                continue
            if existing.type == kind:
                raise AwsRefusal(
                    f"[Tried to create resource record set [name='{name}', type='{kind}'] but it "
                    "already exists]"
                )
            if "CNAME" in (existing.type, kind):
                raise AwsRefusal(
                    f"[RRSet of type {kind} with DNS name {name} is not permitted because a "
                    f"conflicting RRSet of type {existing.type} with the same DNS name already "
                    f"exists in zone {fqdn(zone.name)}]"
                )
    for record in properties["RecordSets"]:
        values = [{"Value": value} for value in record.get("ResourceRecords", [])]
        api_form = {**record, "ResourceRecords": values} if values else record
        create_record(account_id, region_name, zone.resource_id, api_form)
    return RecordSetGroup(region_name, zone.resource_id, properties["RecordSets"])


# behaviour: route53.delete-any-exact-record
def delete_record_set_group(self, account_id, region_name):
    if self.hosted_zone_id not in route53_of(account_id, region_name).zones:
        return  # the zone went first, and its records with it
    zone = zone_of(account_id, region_name, self.hosted_zone_id)
    for record in self.record_sets:
        zone.delete_rrset(record)


# behaviour: route53.non-empty-zone-kept
def delete_zone(self, account_id, region_name):
    """Route 53's DeleteHostedZone, which refuses while records other than NS and SOA remain."""
    backend = route53_of(account_id, region_name)
    if self.resource_id not in backend.zones:
        return  # deleted already: CloudFormation counts that as deleted
    if any(record.type not in ("NS", "SOA") for record in self.rrsets):
        raise AwsRefusal(
            "The specified hosted zone contains non-required resource record sets and so "
            "cannot be deleted. (Service: Route53, Status Code: 400, Error Code: "
            "HostedZoneNotEmpty)"
        )
    backend.delete_hosted_zone(self.id)


moto_zone_id = HostedZoneIdentifier.generate


def zone_id(self, existing_ids=None, tags=None):
    """A hosted zone's id as Route 53 gives it: Z and capitals or digits (moto's may start with a
    digit, which the templates' HostedZoneId AllowedPattern, and so `--set`, refuse). The API
    Reference's examples: "Id": "/hostedzone/Z1D633PJN98FT9" (CreateHostedZone,
    https://docs.aws.amazon.com/Route53/latest/APIReference/API_CreateHostedZone.html)."""
    return "Z" + moto_zone_id(self, existing_ids, tags)[1:]


def fqdn(name):
    return name if name.endswith(".") else f"{name}."


class Taught:
    """A resource type moto lacks, made through moto's own API for its service. (moto finds
    resource types among CloudFormationModel's direct subclasses, so this is a mixin.)"""

    TYPE = ""

    def __init__(self, physical_id):
        self.physical_id = physical_id

    @property
    def physical_resource_id(self):
        return self.physical_id

    @classmethod
    def cloudformation_type(cls):
        return cls.TYPE

    @staticmethod
    def cloudformation_name_type():
        return ""

    update_from_cloudformation_json = classmethod(replace_resource)


class VpcCidrBlock(Taught, CloudFormationModel):
    """AWS::EC2::VPCCidrBlock: an Amazon-provided IPv6 range, through moto's EC2 API."""

    TYPE = "AWS::EC2::VPCCidrBlock"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = cloudformation_json["Properties"]
        association = ec2_backends[account_id][region_name].associate_vpc_cidr_block(
            properties["VpcId"],
            cidr_block=properties.get("CidrBlock"),
            amazon_provided_ipv6_cidr_block=bool(properties.get("AmazonProvidedIpv6CidrBlock")),
        )
        return cls(association["association_id"])


class Certificate(Taught, CloudFormationModel):
    """AWS::CertificateManager::Certificate through moto's ACM API, validated through DNS."""

    TYPE = "AWS::CertificateManager::Certificate"
    MAX_COMMON_NAME = 64  # octets: RequestCertificate, "DomainName"

    # behaviour: acm.domain-name-64-octets, acm.cfn.validation-record-in-zone
    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = cloudformation_json["Properties"]
        domain = properties["DomainName"]
        if len(domain) > cls.MAX_COMMON_NAME:
            raise AwsRefusal(
                f"1 validation error detected: Value '{domain}' at 'domainName' failed to "
                f"satisfy constraint: Member must have length less than or equal to "
                f"{cls.MAX_COMMON_NAME}"
            )
        arn = acm_backends[account_id][region_name].request_certificate(
            domain, None, properties.get("SubjectAlternativeNames", []), []
        )
        options = properties.get("DomainValidationOptions", [])
        if not options:  # validated through a record its user creates at their DNS provider
            AT_PROVIDER.add(arn)
        # CloudFormation writes each validation record into the zone it was given; deleting
        # the certificate later leaves the record there (cloudformation-coverage-roadmap#837).
        for option in options:
            token = hashlib.sha256(f"{arn}{option['DomainName']}".encode()).hexdigest()[:32]
            record = {
                "Name": fqdn(f"_{token}.{option['DomainName']}"),
                "Type": "CNAME",
                "TTL": 300,
                "ResourceRecords": [{"Value": f"_{token[::-1]}.acm-validations.aws."}],
            }
            create_record(account_id, region_name, option["HostedZoneId"], record)
        certificate = cls(arn)
        certificate.acm = acm_backends[account_id][region_name]
        return certificate

    def is_created(self):
        """A certificate validated at the user's DNS provider holds the creation until ACM
        issues it (GetCertificate runs ACM's check of the record); the others do not (above)."""
        self.acm.get_certificate(self.physical_id)
        return self.physical_id not in AT_PROVIDER

    def waiting_reason(self):
        """What CloudFormation's event says while it waits: the record to create."""
        records = validation_records(self.acm.get_certificate(self.physical_id))
        return " ".join(
            "Content of DNS Record is: {"  # AWS's words; no doubled braces in a template
            + f"Name: {r['Name']},Type: {r['Type']},Value: {r['Value']}"
            + "}"
            for r in records
        )

    def delete(self, account_id, region_name):
        AT_PROVIDER.discard(self.physical_id)
        acm_backends[account_id][region_name].delete_certificate(self.physical_id)


# ---------------------------------------------------------------- a DNS provider outside AWS


class PublicDns:
    """Public DNS for a domain kept at another provider: the records its user created there,
    each a name pointing at another (a CNAME, or an apex's ALIAS, ANAME or flattened CNAME), and
    the load balancers' own names, which answer one IPv4 address each from the range kept for
    documentation (RFC 5737), and under their "dualstack." name an IPv6 one too (RFC 3849)."""

    def __init__(self):
        self.records = {}

    def create(self, name, target):
        self.records[fqdn(name).lower()] = fqdn(target).lower()

    def points(self, name, target):
        return self.records.get(fqdn(name).lower()) == fqdn(target).lower()

    def resolve(self, name):
        """external_dns.resolve's answer: the end of the name's CNAMEs and its addresses. A
        flattened record would answer the addresses under its own name: the same here."""
        name = fqdn(name).lower()
        seen = set()
        while name in self.records and name not in seen:
            seen.add(name)
            name = self.records[name]
        if not name.endswith(".elb.amazonaws.com."):
            return Answer(name, frozenset())
        balancer = name.removeprefix("dualstack.")
        host = int(hashlib.sha256(balancer.encode()).hexdigest(), 16) % 254 + 1
        ipv6 = {f"2001:db8::{host:x}"} if name != balancer else set()
        return Answer(name, frozenset({f"192.0.2.{host}", *ipv6}))


PUBLIC_DNS = PublicDns()
# Certificates waiting for their validation records at the user's DNS provider (PUBLIC_DNS).
AT_PROVIDER = set()
# Where the server answers for PUBLIC_DNS: the stand-in's own path, no AWS API's (moto's own are
# under /moto-api; a bucket name "must begin and end with a letter or number", so no path-style
# S3 request starts with "_": https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
PUBLIC_DNS_PATH = "/_standin/public-dns"

moto_dispatch = DomainDispatcherApplication.__call__


def dispatch(self, environ, start_response):
    """moto's server, and PUBLIC_DNS at PUBLIC_DNS_PATH for a deploy tool in another process
    (`rehearse --endpoint-url` on a server `rehearse --serve` started), a stand-in's route only:
    POST {"name", "target"} creates a record as its user would, GET ?name= resolves a name."""
    if environ.get("PATH_INFO") != PUBLIC_DNS_PATH:
        return moto_dispatch(self, environ, start_response)
    request = Request(environ)
    if request.method == "POST":
        PUBLIC_DNS.create(request.json["name"], request.json["target"])
        answer = {}
    else:
        canonical, addresses = PUBLIC_DNS.resolve(request.args["name"])
        answer = {"canonical": canonical, "addresses": sorted(addresses)}
    return Response(json.dumps(answer), mimetype="application/json")(environ, start_response)


def validation_records(bundle):
    """The validation CNAMEs of a certificate, as DescribeCertificate names them."""
    options = bundle.describe()["Certificate"].get("DomainValidationOptions", [])
    return list(
        {option["ResourceRecord"]["Name"]: option["ResourceRecord"] for option in options}.values()
    )


moto_check_certificate = CertBundle.check


# behaviour: acm.cfn.external-dns-waits
def check_certificate(self):
    """ACM issues a certificate validated at another provider once its records answer there;
    moto would issue it after a minute whatever DNS says."""
    if self.arn not in AT_PROVIDER:
        moto_check_certificate(self)
    elif all(PUBLIC_DNS.points(r["Name"], r["Value"]) for r in validation_records(self)):
        AT_PROVIDER.discard(self.arn)
        self.status = "ISSUED"


class ScalingPolicy(Taught, CloudFormationModel):
    """AWS::ApplicationAutoScaling::ScalingPolicy through moto's Application Auto Scaling API
    (PutScalingPolicy), so that DescribeScalingPolicies lists it; its physical id (Ref) is the
    policy's ARN (CloudFormation Template Reference,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-applicationautoscaling-scalingpolicy.html)."""

    TYPE = "AWS::ApplicationAutoScaling::ScalingPolicy"

    def __init__(self, policy, backend):
        super().__init__(policy.policy_arn)
        self.policy, self.backend = policy, backend

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = cloudformation_json["Properties"]
        backend = applicationautoscaling_backends[account_id][region_name]
        namespace, resource_id, dimension = cls.target(properties, backend)
        body = properties.get(f"{properties['PolicyType']}PolicyConfiguration", {})
        policy = backend.put_scaling_policy(
            properties["PolicyName"], namespace, resource_id, dimension, body,
            properties["PolicyType"],
        )  # fmt: skip
        return cls(policy, backend)

    @staticmethod
    def target(properties, backend):
        """(namespace, resource id, dimension) of the policy's scalable target: its
        ScalingTargetId, which is the target's Ref ("resource id|dimension|namespace" on AWS, the
        resource id alone from the stand-in's ScalableTarget), or the three properties."""
        if "ScalingTargetId" not in properties:
            return (
                properties["ServiceNamespace"], properties["ResourceId"],
                properties["ScalableDimension"],
            )  # fmt: skip
        resource_id, *dimension_namespace = properties["ScalingTargetId"].split("|")
        if dimension_namespace:
            dimension, namespace = dimension_namespace
            return namespace, resource_id, dimension
        for dimension, targets in backend.targets.items():
            if resource_id in targets:
                return targets[resource_id].service_namespace, resource_id, dimension
        raise AwsRefusal(f"No scalable target registered for resource ID: {resource_id}")

    def key(self):
        policy = self.policy
        return (policy.service_namespace, policy.resource_id, policy.scalable_dimension,
                policy.policy_name)  # fmt: skip

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        """PutScalingPolicy again: in place for the same policy, else a new one, the old one
        deleted in the update's cleanup (its name or target changed: Replacement)."""
        properties = cloudformation_json["Properties"]
        same = (*cls.target(properties, original_resource.backend), properties["PolicyName"])
        if same == original_resource.key():
            original_resource.delete(account_id, region_name)
        else:
            REPLACED.append((original_resource, cls.TYPE, account_id, region_name))
        return cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id, region_name):
        namespace, resource_id, dimension, name = self.key()
        with contextlib.suppress(AWSValidationException):  # deleted already
            self.backend.delete_scaling_policy(name, namespace, resource_id, dimension)


class OidcProvider(Taught, CloudFormationModel):
    """AWS::IAM::OIDCProvider through moto's IAM API (one provider per URL, as in AWS)."""

    TYPE = "AWS::IAM::OIDCProvider"

    # behaviour: iam.oidc-provider-one-per-url
    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = cloudformation_json["Properties"]
        iam = iam_backends[account_id]["global"]
        url = properties["Url"].removeprefix("https://")
        if any(provider.url == url for provider in iam.open_id_providers.values()):
            raise AwsRefusal(f"Provider with url https://{url} already exists.")
        provider = iam.create_open_id_connect_provider(
            properties["Url"],
            properties.get("ThumbprintList", []),
            properties.get("ClientIdList", []),
            [],
        )
        return cls(provider.arn)

    def delete(self, account_id, region_name):
        iam_backends[account_id]["global"].delete_open_id_connect_provider(self.physical_id)


# ---------------------------------------------------------------- web identities


moto_assume_role_with_web_identity = STSResponse.assume_role_with_web_identity
NOT_AUTHORIZED = "Not authorized to perform sts:AssumeRoleWithWebIdentity"


def token_claims(token):
    """The claims of a JSON Web Token (its signature is not checked here)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def condition_holds(operator, key_values, claims, issuer):
    matches = {
        "StringEquals": lambda value, wanted: value == wanted,
        "StringLike": fnmatch.fnmatchcase,
    }.get(operator)
    if matches is None:  # an operator not taught here: never taken for granted
        return False
    for key, wanted in key_values.items():
        provider, _, claim = key.partition(":")
        value = claims.get(claim) if provider == issuer else None
        wanted = wanted if isinstance(wanted, list) else [wanted]
        if not isinstance(value, str) or not any(matches(value, w) for w in wanted):
            return False
    return True


def trusts(policy, provider_arn, claims, issuer):
    for statement in policy.get("Statement", []):
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        federated = statement.get("Principal", {}).get("Federated")
        if (
            statement.get("Effect") == "Allow"
            and "sts:AssumeRoleWithWebIdentity" in actions
            and federated == provider_arn
            and all(
                condition_holds(operator, key_values, claims, issuer)
                for operator, key_values in statement.get("Condition", {}).items()
            )
        ):
            return True
    return False


# behaviour: sts.web-identity-trust
def assume_role_with_web_identity(self):
    arn = self._get_param("RoleArn")
    claims = token_claims(self._get_param("WebIdentityToken"))
    issuer = claims.get("iss", "").removeprefix("https://")
    account_id = arn.split(":")[4]
    iam = iam_backends[account_id]["global"]
    audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
    provider = next(
        (
            provider
            for provider in iam.open_id_providers.values()
            if provider.url == issuer and set(audiences) & set(provider.client_id_list)
        ),
        None,
    )
    if provider is None:
        raise STSClientError(
            "InvalidIdentityToken", f"No OpenIDConnect provider found in your account for {issuer}"
        )
    roles = [role for role in iam.roles.values() if role.arn == arn]
    policy = json.loads(roles[0].assume_role_policy_document) if roles else {}
    if not trusts(policy, provider.arn, claims, issuer):
        raise STSClientError("AccessDenied", NOT_AUTHORIZED)
    return moto_assume_role_with_web_identity(self)


# ---------------------------------------------------------------- template functions


moto_clean_json = parsing.clean_json

# The Fn::GetAtt attributes AWS has and moto lacks, computed the way AWS defines them.
MISSING_ATTRIBUTES = {
    FakeTargetGroup: {"TargetGroupFullName": lambda group: group.arn.split(":", 5)[5]},
    FakeLoadBalancer: {
        "LoadBalancerFullName": lambda balancer: balancer.arn.split("/", 1)[1],
        "CanonicalHostedZoneID": lambda balancer: balancer.canonical_hosted_zone_id,
    },
    FakeZone: {
        "NameServers": lambda zone: (
            (zone.delegation_set or DelegationSet("", None, None)).name_servers
        )
    },
    VPC: {
        "Ipv6CidrBlocks": lambda vpc: [
            association["cidr_block"]
            for association in vpc.get_cidr_block_association_set(ipv6=True)
        ]
    },
}


# behaviour: cfn.fn-cidr
def cidr(block, count, host_bits):
    """Fn::Cidr: the first `count` subnets of `block` that have `host_bits` host bits."""
    network = ipaddress.ip_network(block)
    subnets = network.subnets(new_prefix=network.max_prefixlen - int(host_bits))
    return [str(subnet) for _, subnet in zip(range(int(count)), subnets, strict=False)]


# behaviour: cfn.getatt.full-names, cfn.novalue-in-list
def clean_json(resource_json, resources_map):
    """moto's template function evaluation, plus Fn::Cidr, the missing Fn::GetAtt attributes
    and AWS::NoValue in lists."""
    if isinstance(resource_json, list):
        items = (clean_json(item, resources_map) for item in resource_json)
        return [item for item in items if item is not None]
    if isinstance(resource_json, dict) and set(resource_json) == {"Fn::Cidr"}:
        return cidr(*clean_json(resource_json["Fn::Cidr"], resources_map))
    if isinstance(resource_json, dict) and "Fn::GetAtt" in resource_json:
        name, attribute = resource_json["Fn::GetAtt"][:2]
        resource = resources_map.get(name)
        added = MISSING_ATTRIBUTES.get(type(resource), {}).get(attribute)
        if added:
            return added(resource)
    return moto_clean_json(resource_json, resources_map)


moto_parse_condition = parsing.parse_condition


# behaviour: cfn.condition-short-form
def parse_condition(condition, resources_map, condition_map):
    """moto's condition functions, reading `!Condition Name` as `{"Condition": Name}`."""

    def long_form(node):
        if isinstance(node, dict):
            return {
                "Condition" if key == "Fn::Condition" else key: long_form(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [long_form(item) for item in node]
        return node

    return moto_parse_condition(long_form(condition), resources_map, condition_map)


# behaviour: cfn.exports.only-existing-outputs
def exports(self):
    """The exports of the outputs that exist, that is whose Condition holds."""
    return [
        parsing.Export(
            self._stack_id, clean_json(spec["Export"]["Name"], self._resource_map), output.value
        )
        for key, spec in (self._output_json_map or {}).items()
        if spec.get("Export") and (output := self[key]) is not None
    ]


def delete_gateway_attachment(self, account_id, region_name):
    backend = ec2_backends[account_id][region_name]
    if self.gateway_id in backend.internet_gateways:
        backend.detach_internet_gateway(self.gateway_id, self.vpc_id)


def delete_internet_gateway(self, account_id, region_name):
    ec2_backends[account_id][region_name].delete_internet_gateway(self.id)


def delete_nat_gateway(self, account_id, region_name):
    ec2_backends[account_id][region_name].delete_nat_gateway(self.id)


def delete_target_group(self, account_id, region_name):
    elbv2_backends[account_id][region_name].delete_target_group(self.arn)


def delete_cluster(self, account_id, region_name):
    ecs_backends[account_id][region_name].delete_cluster(self.arn)


def delete_service(self, account_id, region_name):
    ecs_backends[account_id][region_name].delete_service(self.cluster_name, self.name, force=True)


def delete_task_definition(self, account_id, region_name):
    ecs_backends[account_id][region_name].deregister_task_definition(self.arn)


moto_delete_vpc = VPC.__dict__["delete_from_cloudformation_json"].__func__


# behaviour: cfn.delete.route-tables-before-vpc
def delete_vpc(cls, resource_name, cloudformation_json, account_id, region_name):
    """Delete the VPC's own route tables first, as AWS does, then let moto delete the VPC."""
    backend = ec2_backends[account_id][region_name]
    for table in list(backend.route_tables.values()):
        if table.vpc_id == resource_name and table.main_association_id is None:
            table._associations.clear()
            backend.route_tables.pop(table.id)
    moto_delete_vpc(cls, resource_name, cloudformation_json, account_id, region_name)


# ---------------------------------------------------------------- ECS: CPU and capacity


def parameters_behind(names, conditions):
    """The parameters those conditions, and the conditions they read, refer to."""
    found, seen, todo = set(), set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen or name not in conditions:
            continue
        seen.add(name)
        found |= set(parsing.get_references_from_template(conditions[name]))
        todo += conditions_of(conditions[name])
    return found


moto_create_cluster = Cluster.create_from_cloudformation_json
moto_update_cluster = Cluster.update_from_cloudformation_json
moto_create_task_definition = TaskDefinition.create_from_cloudformation_json
moto_update_task_definition = TaskDefinition.update_from_cloudformation_json
moto_create_service = Service.create_from_cloudformation_json
moto_update_service = Service.update_from_cloudformation_json
moto_create_load_balancer = FakeLoadBalancer.create_from_cloudformation_json


def camel(items):
    """CloudFormation's PascalCase keys as the ECS API names them."""
    return remap_nested_keys(items, pascal_to_camelcase)


# behaviour: ecs.cluster.capacity-providers
def with_capacity_providers(cluster, cloudformation_json):
    properties = cloudformation_json.get("Properties", {})
    cluster.capacity_providers = properties.get("CapacityProviders", [])
    strategy = properties.get("DefaultCapacityProviderStrategy", [])
    cluster.default_capacity_provider_strategy = camel(strategy)
    return cluster


def create_cluster(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    cluster = moto_create_cluster(resource_name, cloudformation_json, account_id, region_name)
    return with_capacity_providers(cluster, cloudformation_json)


def update_cluster(
    cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
):
    cluster = moto_update_cluster(
        original_resource, new_resource_name, cloudformation_json, account_id, region_name
    )
    return with_capacity_providers(cluster, cloudformation_json)


# behaviour: ecs.taskdefinition.runtime-platform
def with_runtime_platform(task_definition, cloudformation_json):
    """moto registers a task definition from a stack with its containers, volumes and memory
    only; each update registers a new revision, as CloudFormation does."""
    properties = cloudformation_json["Properties"]
    task_definition.runtime_platform = camel(properties.get("RuntimePlatform"))
    task_definition.cpu = properties.get("Cpu")
    task_definition.requires_compatibilities = properties.get("RequiresCompatibilities")
    return task_definition


def create_task_definition(cls, resource_name, cloudformation_json, account_id, region_name, **kw):
    created = moto_create_task_definition(
        resource_name, cloudformation_json, account_id, region_name
    )
    return with_runtime_platform(created, cloudformation_json)


def update_task_definition(
    cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
):
    updated = moto_update_task_definition(
        original_resource, new_resource_name, cloudformation_json, account_id, region_name
    )
    return with_runtime_platform(updated, cloudformation_json)


# behaviour: ecs.service.launch-type-xor-strategy, ecs.service.strategy-providers-on-cluster
def refuse_capacity_aws_refuses(cloudformation_json, account_id, region_name):
    """CreateService and UpdateService take a launch type or a capacity provider strategy, not
    both, and a strategy names only providers associated with the service's cluster
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html,
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html).
    moto creates any service with launch type EC2 and keeps no strategy at all."""
    properties = cloudformation_json["Properties"]
    strategy = properties.get("CapacityProviderStrategy", [])
    if strategy and properties.get("LaunchType"):
        raise AwsRefusal(
            'Resource handler returned message: "Invalid request provided: Specify either a '
            'launch type or a capacity provider strategy, but not both."'
        )
    cluster = ecs_backends[account_id][region_name].clusters[properties["Cluster"]]
    missing = [
        item["CapacityProvider"]
        for item in strategy
        if item["CapacityProvider"] not in (cluster.capacity_providers or [])
    ]
    if missing:
        raise AwsRefusal(
            'Resource handler returned message: "Invalid request provided: The specified '
            "capacity provider strategy cannot contain a capacity provider that is not "
            "associated with the cluster. Associate the capacity provider with the cluster or "
            'specify a valid capacity provider and try again."'
        )


def with_capacity(service, cloudformation_json):
    properties = cloudformation_json["Properties"]
    service.capacity_provider_strategy = camel(properties.get("CapacityProviderStrategy", []))
    service.launch_type = properties.get("LaunchType")
    return service


def create_service(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    refuse_capacity_aws_refuses(cloudformation_json, account_id, region_name)
    created = moto_create_service(resource_name, cloudformation_json, account_id, region_name)
    return with_capacity(created, cloudformation_json)


def update_service(
    cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
):
    refuse_capacity_aws_refuses(cloudformation_json, account_id, region_name)
    updated = moto_update_service(
        original_resource, new_resource_name, cloudformation_json, account_id, region_name
    )
    return with_capacity(updated, cloudformation_json)


# behaviour: elbv2.loadbalancer.ip-address-type
def create_load_balancer(cls, resource_name, cloudformation_json, account_id, region_name, **kw):
    """moto creates a load balancer from a stack as ipv4, whatever its IpAddressType says."""
    balancer = moto_create_load_balancer(
        resource_name, cloudformation_json, account_id, region_name
    )
    balancer.ip_address_type = cloudformation_json["Properties"].get("IpAddressType", "ipv4")
    return balancer


PATCHES = [
    (CloudFormationBackend, "create_change_set", create_change_set),
    (CloudFormationBackend, "execute_change_set", execute_change_set),
    (CloudFormationBackend, "delete_stack", delete_stack),
    (CloudFormationBackend, "describe_stacks", describe_stacks),
    (Stack, "outputs", property(outputs)),
    (CertBundle, "check", check_certificate),
    (Stack, "parameter_list", property(parameter_list)),
    (Stack, "stack_resources", property(stack_resources)),
    (parsing, "parse_and_create_resource", parse_and_create_resource),
    (parsing, "parse_and_update_resource", parse_and_update_resource),
    (parsing.ResourceMap, "_delete_resource", delete_resource),
    (parsing, "clean_json", clean_json),
    (parsing, "parse_condition", parse_condition),
    (parsing.OutputMap, "exports", property(exports)),
    (VPC, "delete_from_cloudformation_json", classmethod(delete_vpc)),
    (VPCGatewayAttachment, "delete", delete_gateway_attachment),
    (InternetGateway, "delete", delete_internet_gateway),
    (NatGateway, "delete", delete_nat_gateway),
    (FakeTargetGroup, "delete", delete_target_group),
    (Cluster, "delete", delete_cluster),
    (Service, "delete", delete_service),
    (TaskDefinition, "delete", delete_task_definition),
    (RecordSetGroup, "create_from_cloudformation_json", classmethod(create_record_set_group)),
    (RecordSetGroup, "delete", delete_record_set_group),
    (RecordSetGroup, "update_from_cloudformation_json", classmethod(replace_resource)),
    (FakeZone, "update_from_cloudformation_json", classmethod(replace_resource)),
    (FakeZone, "delete", delete_zone),
    (HostedZoneIdentifier, "generate", zone_id),
    (IAMBackend, "create_service_linked_role", create_service_linked_role),
    (parsing.ResourceMap, "build_resource_diff", build_resource_diff),
    (ChangeSet, "diff", change_set_diff),
    (Cluster, "create_from_cloudformation_json", classmethod(create_cluster)),
    (Cluster, "update_from_cloudformation_json", classmethod(update_cluster)),
    (TaskDefinition, "create_from_cloudformation_json", classmethod(create_task_definition)),
    (TaskDefinition, "update_from_cloudformation_json", classmethod(update_task_definition)),
    (Service, "create_from_cloudformation_json", classmethod(create_service)),
    (Service, "update_from_cloudformation_json", classmethod(update_service)),
    (FakeLoadBalancer, "create_from_cloudformation_json", classmethod(create_load_balancer)),
    (STSResponse, "assume_role_with_web_identity", assume_role_with_web_identity),
    (DomainDispatcherApplication, "__call__", dispatch),
]
