"""The moto server taught what sites sharing one load balancer meet (HostSite), as AWS does it.

Built on rules.py; server.moto_server() applies these PATCHES too.

- CloudFormation's ListChangeSets lists the named stack's change sets; moto lists every stack's,
  which shows once several sites share an account.
- CloudFormation's ListImports, which moto lacks: the stacks importing an export, and
  ValidationError "Export '<name>' is not imported by any stack." when none does (ListImports
  in the AWS CloudFormation API Reference).
- AWS::ElasticLoadBalancingV2::ListenerCertificate, which moto's CloudFormation lacks: through
  moto's own AddListenerCertificates and RemoveListenerCertificates.
- A deleted stack's AWS::ElasticLoadBalancingV2::ListenerRule goes from the listener, as in AWS;
  moto leaves it there (on a host's listener, still routing a deleted site's names).
- The load balancer's quotas as AWS counts them ("Quotas for your Application Load Balancers":
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html):
  25 certificates excluding the default one, where moto counts the default too, and 100 rules
  excluding the listeners' default rules, which moto does not limit.
"""

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult
from moto.elbv2.exceptions import ELBClientError, TooManyCertificatesError
from moto.elbv2.models import ELBv2Backend, FakeListenerRule, elbv2_backends

from flask_fargate.standin.rules import Taught, imports_of

# The defaults of the quotas above (raised on request, per account).
MAX_CERTIFICATES = 25
MAX_RULES = 100


# behaviour: cfn.list-imports
def list_imports(self):
    """CloudFormationResponse.list_imports, one page (moto's stacks are few)."""
    name = self._get_param("ExportName")
    importers = imports_of(self.cloudformation_backend, name)
    if not importers:
        raise ValidationError(message=f"Export '{name}' is not imported by any stack.")
    return ActionResult({"Imports": importers})


# behaviour: cfn.list-change-sets-per-stack
def list_change_sets(self):
    """CloudFormationResponse.list_change_sets, of the stack named (by name or id) only."""
    name = self._get_param("StackName")
    change_sets = [
        change_set
        for change_set in self.cloudformation_backend.list_change_sets()
        if name in (change_set.stack_name, change_set.stack_id)
    ]
    return ActionResult({"Summaries": change_sets})


# behaviour: elbv2.cfn.listener-certificate
class ListenerCertificate(Taught, CloudFormationModel):
    """AWS::ElasticLoadBalancingV2::ListenerCertificate: certificates added to a listener."""

    TYPE = "AWS::ElasticLoadBalancingV2::ListenerCertificate"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = cloudformation_json["Properties"]
        elbv2_backends[account_id][region_name].add_listener_certificates(
            properties["ListenerArn"], properties["Certificates"]
        )
        certificates = " ".join(c["CertificateArn"] for c in properties["Certificates"])
        return cls(f"{properties['ListenerArn']} {certificates}")

    def delete(self, account_id, region_name):
        listener, *certificates = self.physical_id.split(" ")
        elbv2_backends[account_id][region_name].remove_listener_certificates(
            listener, [{"CertificateArn": arn} for arn in certificates]
        )


# behaviour: elbv2.cfn.rule-leaves-with-stack
def delete_listener_rule(self, account_id, region_name):
    elbv2_backends[account_id][region_name].delete_rule(self.arn)


moto_add_listener_certificates = ELBv2Backend.add_listener_certificates
moto_create_rule = ELBv2Backend.create_rule


# behaviour: elbv2.quotas.rules-and-certificates
def add_listener_certificates(self, arn, certificates):
    """moto's, with the quota counted without the listener's default certificate (its first)."""
    (listener,) = self.describe_listeners(load_balancer_arn=None, listener_arns=[arn])
    added = {c["CertificateArn"] for c in certificates} - set(listener.certificates)
    if len(listener.certificates[1:]) + len(added) > MAX_CERTIFICATES:
        raise TooManyCertificatesError()
    listener.certificates.extend(sorted(added))
    return listener.certificates


class TooManyRulesError(ELBClientError):
    def __init__(self):
        super().__init__(
            "TooManyRules", "You've reached the limit on the number of rules per load balancer"
        )


# behaviour: elbv2.quotas.rules-and-certificates
def create_rule(self, listener_arn, conditions, priority, actions, tags=None):
    """moto's, refusing a rule beyond the load balancer's quota (default rules not counted)."""
    listeners = self.describe_listeners(load_balancer_arn=None, listener_arns=[listener_arn])
    if listeners:
        balancer = listeners[0].load_balancer_arn
        siblings = self.describe_listeners(load_balancer_arn=balancer, listener_arns=None)
        if sum(len(each._non_default_rules) for each in siblings) >= MAX_RULES:
            raise TooManyRulesError()
    return moto_create_rule(self, listener_arn, conditions, priority, actions, tags)


PATCHES = [
    (CloudFormationResponse, "list_imports", list_imports),
    (CloudFormationResponse, "list_change_sets", list_change_sets),
    (ELBv2Backend, "add_listener_certificates", add_listener_certificates),
    (ELBv2Backend, "create_rule", create_rule),
    (FakeListenerRule, "delete", delete_listener_rule),
]
