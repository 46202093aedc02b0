"""What the moto server needs, beyond standin/rules.py, to stand in for ECS's deployments.

moto (5.2) keeps no deployment configuration or load balancers for a stack's service and has no
service deployments API; `server.moto_server()` applies these patches after its own. Each
rule says what AWS does and where AWS says so:

- No AWS::CloudWatch::Alarm in stacks: taught here through moto's CloudWatch API, named as
  CloudFormation names a resource without a name (<logical id>-<random>), `Ref` being that name
  (CloudFormation User Guide, AWS::CloudWatch::Alarm "Return values"); its metric and
  dimensions are not kept (nothing here reads them).
- AWS::ECS::Service keeps its DeploymentConfiguration and LoadBalancers (AdvancedConfiguration
  included), which DescribeServices returns (ECS API Reference, Service).
- A creation of the service by CloudFormation starts a service deployment, and so does an update
  that changes what a service revision records (REVISION_PROPERTIES: its task definition,
  network, load balancers, capacity...), not one of its desired count or deployment
  configuration alone ("View service history using Amazon ECS service deployments":
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html); one still
  IN_PROGRESS when the next starts is STOPPED (unverified on AWS). ListServiceDeployments and
  DescribeServiceDeployments return them (ECS API Reference,
  ServiceDeployment): status IN_PROGRESS, then SUCCESSFUL; the target and source revisions'
  requestedProductionTrafficWeight (ServiceRevisionSummary) follow the strategy's traffic steps
  (BLUE_GREEN 100; CANARY CanaryPercent, then 100; LINEAR StepPercent at a time), through the
  lifecycle stages SCALE_UP, TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME and
  CLEAN_UP ("Amazon ECS blue/green service deployments workflow", ECS Developer Guide:
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html).
  A ROLLING deployment shifts no weights between target groups.
- DescribeServices' `deployments` follow the revisions (moto keeps its first one whatever
  changes): a new task definition starts a PRIMARY deployment, the one before ACTIVE until the
  service deployment ends; then the deployment of the revision the service runs is the only
  one, COMPLETED (ECS API Reference, Deployment; start_primary, end_deployments).
- The production listener rule's weights follow those shares: ECS registers the new revision's
  tasks in the target group not serving (AlternateTargetGroup, then TargetGroup, and so on) and
  moves the traffic by changing the rule's weights (same page; AdvancedConfiguration in the ECS
  API Reference). A first deployment, with no revision before it, is taken to start in the
  group the rule serves (unverified on AWS). So DescribeRules says which group serves the site,
  and a CloudFormation update that rewrites the rule (1 and 0) sends the traffic where ECS left
  none, as on AWS.
- When an alarm of DeploymentConfiguration.Alarms is in ALARM while the deployment runs, ECS
  sets it to failed and, with Rollback, back to the last completed revision: status
  ROLLBACK_SUCCESSFUL, `rollback.reason`, `alarms.status` TRIGGERED with the
  `triggeredAlarmNames`, all the traffic back on the source revision ("How CloudWatch alarms
  detect Amazon ECS deployment failures":
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html).

- A service created without DesiredCount starts with 1 task, and one updated without it keeps
  its count (CloudFormation's defaults, as aws-cdk#13130 quotes them); moto starts it at 0.
  AWS::ApplicationAutoScaling::ScalableTarget, which moto's CloudFormation lacks, is taught
  through moto's Application Auto Scaling API, and brings a count below its MinCapacity up to
  it, and one above MaxCapacity down ("if the current capacity is below the minimum capacity,
  Application Auto Scaling scales out to the minimum capacity", ScalableTargetAction in the
  Application Auto Scaling API Reference). A target already deregistered counts as deleted
  (ScalableTarget.delete). The stand-in runs no service task, yet reports the
  desired count running once a deployment started (moto says 0), as ECS does once the tasks
  started.

- With DeploymentCircuitBreaker on, ECS counts the new revision's tasks that fail to start
  (or to turn healthy) and fails the deployment once the count reaches the threshold, half
  the desired count but at least 3 and at most 200 (STOPPED), with Rollback back to the last
  completed revision ("How the Amazon ECS deployment circuit breaker detects failures":
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html;
  ServiceDeploymentCircuitBreaker in the ECS API Reference). Both detection methods support
  rolling and blue/green deployments, so the stand-in applies it whatever the strategy. Here a
  task fails to start as tasks.py's one-off tasks do: its image is not in ECR, or a secret it
  names cannot be read; each look at a deployment whose tasks cannot start starts every new
  task (the desired count), which stops at once (TaskFailedToStart, ListTasks by its
  deployment's id, DescribeTasks) and counts as failed, and the deployment moves no further.
  Without the circuit breaker such a deployment stays IN_PROGRESS, as on AWS until
  CloudFormation gives up, and CloudFormation waits for it: the stack and its service stay
  CREATE_IN_PROGRESS or UPDATE_IN_PROGRESS (execute_change_set) until CancelUpdateStack, which
  moto lacks (cancel_update_stack), rolls the update back.

The stand-in's clock: a deployment moves one stage further after each DescribeServiceDeployments
answers, which checks the alarms first, so a test sets an alarm between two calls "mid-way". Not
taught: AWS's CloudFormation waits for every deployment (here only for one whose tasks cannot
start) and fails the stack's update when ECS rolls it back (UPDATE_ROLLBACK_COMPLETE); moto
completes the update at once, and the deploy tool follows the deployment after the stack either
way.
"""

import contextlib
import secrets
import string
import uuid
from datetime import UTC, datetime

from moto.applicationautoscaling.exceptions import AWSValidationException
from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend
from moto.cloudformation.responses import CloudFormationResponse
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.ecs.models import ecs_backends
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.elbv2.models import elbv2_backends

from flask_fargate.deployments import breaker_threshold
from flask_fargate.standin import rules, tasks


class Alarm(rules.Taught, CloudFormationModel):
    """AWS::CloudWatch::Alarm through moto's CloudWatch API, state OK until set otherwise."""

    TYPE = "AWS::CloudWatch::Alarm"

    # behaviour: cloudwatch.alarm.generated-name
    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = cloudformation_json["Properties"]
        suffix = "".join(secrets.choice(string.ascii_uppercase) for _ in range(12))
        name = properties.get("AlarmName", f"{resource_name}-{suffix}")
        cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=name,
            namespace=properties.get("Namespace"),
            metric_name=properties.get("MetricName"),
            comparison_operator=properties["ComparisonOperator"],
            evaluation_periods=int(properties["EvaluationPeriods"]),
            period=int(properties.get("Period", 60)),
            threshold=float(properties["Threshold"]),
            statistic=properties.get("Statistic"),
            description=properties.get("AlarmDescription"),
            dimensions=[],
            alarm_actions=[],
        )
        return cls(name)

    def delete(self, account_id, region_name):
        cloudwatch_backends[account_id][region_name].delete_alarms([self.physical_id])


class ScalableTarget(rules.Taught, CloudFormationModel):
    """AWS::ApplicationAutoScaling::ScalableTarget through moto's Application Auto Scaling API,
    which moves the ECS service's count into its range."""

    TYPE = "AWS::ApplicationAutoScaling::ScalableTarget"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = cloudformation_json["Properties"]
        low, high = int(properties["MinCapacity"]), int(properties["MaxCapacity"])
        target = applicationautoscaling_backends[account_id][region_name].register_scalable_target(
            properties["ServiceNamespace"], properties["ResourceId"],
            properties["ScalableDimension"], low, high, properties.get("RoleARN", ""), None,
        )  # fmt: skip
        _, cluster, name = properties["ResourceId"].split("/")
        service = ecs_backends[account_id][region_name].services.get(f"{cluster}:{name}")
        if service is not None:
            count(service, min(max(service.desired_count, low), high))
        return cls(target.resource_id)

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        """New capacities update the same target ("After you register a scalable target, you can
        use this operation to update the minimum and maximum values for its scalable dimension",
        Application Auto Scaling API Reference, RegisterScalableTarget); another service is a new
        one, the old deregistered in the update's cleanup (ResourceId: Replacement)."""
        if cloudformation_json["Properties"]["ResourceId"] == original_resource.physical_id:
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
        return rules.replace_resource(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )

    def delete(self, account_id, region_name):
        # A target already gone is deleted: a delete handler answers NotFound for a resource that
        # no longer exists, which CloudFormation takes as deleted (resource type handler
        # contract: https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-test-contract.html).
        with contextlib.suppress(AWSValidationException):
            applicationautoscaling_backends[account_id][region_name].deregister_scalable_target(
                "ecs", self.physical_id, "ecs:service:DesiredCount"
            )


def count(service, desired):
    """The service's desired count, all of it running in its PRIMARY deployment (the stand-in's
    tasks start at once)."""
    service.desired_count = service.running_count = desired
    service.pending_count = 0
    for deployment in service.deployments:
        if deployment["status"] == "PRIMARY":
            deployment.update(desiredCount=desired, runningCount=desired, pendingCount=0)


def start_primary(service):
    """ECS's deployments of the service, which DescribeServices returns: a new task definition
    starts a PRIMARY deployment ("the most recent deployment of a service"), IN_PROGRESS, and the
    one before becomes ACTIVE ("still has running tasks, but are in the process of being
    replaced with a new PRIMARY deployment"), until end_deployments (ECS API Reference,
    Deployment: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Deployment.html).
    moto keeps its first deployment whatever changes."""
    primary = next((d for d in service.deployments if d["status"] == "PRIMARY"), None)
    if primary is None or primary["taskDefinition"] == service.task_definition:
        return
    identifier = f"ecs-svc/{uuid.uuid4().int % 10**19}"
    now = utcnow()
    for deployment in service.deployments:
        deployment.update(status="ACTIVE", updatedAt=now)
    service.deployments.insert(
        0,
        {
            **primary,
            "id": identifier,
            "status": "PRIMARY",
            "taskDefinition": service.task_definition,
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": f"ECS deployment {identifier} in progress.",
            "failedTasks": 0,
            "createdAt": now,
            "updatedAt": now,
        },
    )


def end_deployments(deployment):
    """ECS's deployments once the service deployment ended: with its tasks running, or rolled
    back to the revision before, the deployment of the task definition the service runs is the
    PRIMARY one, COMPLETED, and the others drained (INACTIVE: "completely replaced", which
    DescribeServices no longer lists); stopped by the circuit breaker without Rollback, the
    PRIMARY one FAILED beside the ACTIVE one still running (Deployment's rolloutState, ECS API
    Reference)."""
    service = deployment["service"]
    if deployment["status"] == "IN_PROGRESS" or deployment is not service.service_deployments[-1]:
        return
    primary = service.deployments[0]
    if deployment["status"] == "STOPPED":
        primary.update(
            rolloutState="FAILED",
            rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.",
        )
        return
    running = next(
        (d for d in service.deployments if d["taskDefinition"] == service.task_definition), None
    )
    if running is None:  # none of the stand-in's making: moto's own, left as it is
        return
    running.update(
        status="PRIMARY",
        rolloutState="COMPLETED",
        rolloutStateReason=f"ECS deployment {running['id']} completed.",
        updatedAt=utcnow(),
    )
    service.deployments[:] = [running]


# A ROLLING deployment's stages: no traffic weights, new tasks join the old ones' target group.
ROLLING_STAGES = [("SCALE_UP", None), ("CLEAN_UP", None)]


# behaviour: ecs.bluegreen.traffic-steps
def shift_stages(configuration):
    """The deployment's stages, each with the new revision's share of the traffic."""
    strategy = configuration.get("strategy", "ROLLING")
    if strategy == "ROLLING":
        return ROLLING_STAGES
    if strategy == "CANARY":
        shares = [configuration["canaryConfiguration"]["canaryPercent"], 100]
    elif strategy == "LINEAR":
        step = configuration["linearConfiguration"]["stepPercent"]
        shares = [min(step * n, 100) for n in range(1, int(100 // step) + 1 + (100 % step > 0))]
    else:
        shares = [100]
    shifts = [("PRODUCTION_TRAFFIC_SHIFT", share) for share in shares]
    return [
        ("SCALE_UP", 0),
        ("TEST_TRAFFIC_SHIFT", 0),
        *shifts,
        ("BAKE_TIME", 100),
        ("CLEAN_UP", 100),
    ]


# behaviour: ecs.bluegreen.fixed-404-default
def production_groups(service):
    """The production rule's forward targets ({TargetGroupArn, Weight}, moto's own dicts, so
    a change here is the rule's), or [] for a service without AdvancedConfiguration."""
    advanced = (
        service.load_balancers[0].get("advancedConfiguration") if service.load_balancers else None
    )
    if not advanced:
        return []
    backend = elbv2_backends[service._account_id][service.region_name]
    (rule,) = backend.describe_rules(None, [advanced["productionListenerRule"]])
    return rule.actions[0].data["ForwardConfig"]["TargetGroups"]


# behaviour: ecs.bluegreen.first-deployment-group, ecs.bluegreen.new-tasks-in-idle-group
def new_tasks_group(service, source):
    """The target group the new revision's tasks go to: the one not serving, or with no
    revision before, the one serving."""
    groups = production_groups(service)
    if not groups:
        return None
    serving = max(groups, key=lambda group: group["Weight"])["TargetGroupArn"]
    if source is None:
        return serving
    return next(g["TargetGroupArn"] for g in groups if g["TargetGroupArn"] != serving)


# behaviour: cfn.ecs.update-after-traffic-shift, ecs.bluegreen.new-tasks-in-idle-group
def set_weights(deployment):
    """ECS's traffic shift: the new revision's group takes its share, the other the rest."""
    share = weight(deployment, "target")
    if share is None or deployment["green"] is None:
        return
    for group in production_groups(deployment["service"]):
        group["Weight"] = int(
            share if group["TargetGroupArn"] == deployment["green"] else 100 - share
        )


moto_with_capacity = rules.with_capacity

# What a service revision records of the service ("Properties included in an Amazon ECS service
# revision", ServiceRevision in the ECS API Reference): ECS deploys when one of them changes, or
# ForceNewDeployment's nonce, not when the desired count or the deployment configuration alone
# does ("View service history using Amazon ECS service deployments":
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html).
REVISION_PROPERTIES = (
    "TaskDefinition",
    "LaunchType",
    "CapacityProviderStrategy",
    "PlatformVersion",
    "LoadBalancers",
    "NetworkConfiguration",
    "ServiceRegistries",
    "ServiceConnectConfiguration",
    "VolumeConfigurations",
    "VpcLatticeConfigurations",
    "ForceNewDeployment",
)


# behaviour: ecs.service.describe-configuration, ecs.deployment.on-revision-change
def with_deployment(service, cloudformation_json):
    """rules.py's (every create and update of a stack's service passes there), then the service
    keeps its deployment configuration and load balancers and starts a deployment."""
    service = moto_with_capacity(service, cloudformation_json)
    properties = cloudformation_json["Properties"]
    configuration = rules.camel(properties.get("DeploymentConfiguration", {}))
    service.deployment_configuration = configuration
    service.load_balancers = rules.camel(properties.get("LoadBalancers", []))
    # Kept on moto's service, so that a reset of the server forgets them with it.
    history = vars(service).setdefault("service_deployments", [])
    source = history[-1]["target"] if history else None
    start_primary(service)
    given = properties.get("DesiredCount")
    count(service, int(given) if given is not None else service.desired_count if history else 1)
    revision = {key: properties.get(key) for key in REVISION_PROPERTIES}
    if history and vars(service).get("revision") == revision:
        return service
    service.revision = revision
    if history and history[-1]["status"] == "IN_PROGRESS":
        history[-1]["status"] = "STOPPED"  # replaced by this one (unverified on AWS)
    now = datetime.now(UTC)
    history.append(
        {
            "arn": service.arn.replace(":service/", ":service-deployment/")
            + f"/{uuid.uuid4().hex}",
            "service": service,
            "created": now,
            "stages": shift_stages(configuration),
            "stage": 0,
            "status": "IN_PROGRESS",
            "target": {
                "arn": f"{service.arn}/revision/{uuid.uuid4().hex}",
                "td": service.task_definition,
            },
            "source": source,
            "green": new_tasks_group(service, source),
            "configuration": configuration,
            "triggered": [],
            "failed_tasks": 0,
        }
    )
    return service


def triggered_alarms(deployment):
    alarms = deployment["configuration"].get("alarms", {})
    if not alarms.get("enable"):
        return []
    service = deployment["service"]
    watched = cloudwatch_backends[service._account_id][service.region_name].alarms
    return [
        name
        for name in alarms["alarmNames"]
        if name in watched and watched[name].state_value == "ALARM"
    ]


# behaviour: ecs.deployment.alarm-rollback
def roll_back_on_alarm(deployment):
    """ECS's alarm check: an alarm in ALARM while the deployment runs rolls it back to the source
    revision."""
    triggered = triggered_alarms(deployment)
    if deployment["status"] == "IN_PROGRESS" and triggered:
        if deployment["configuration"]["alarms"].get("rollback"):
            deployment["status"] = "ROLLBACK_SUCCESSFUL"
            deployment["triggered"] = triggered
            if deployment["source"]:
                deployment["service"].task_definition = deployment["source"]["td"]


def start_failure(deployment):
    """ECS's reason the target revision's tasks cannot start, or None."""
    service = deployment["service"]
    backend = ecs_backends[service._account_id][service.region_name]
    (container,) = backend.describe_task_definition(
        deployment["target"]["td"]
    ).container_definitions
    try:
        tasks.container_environment(service._account_id, service.region_name, container)
    except RuntimeError as reason:
        return str(reason)
    return None


def trip_the_circuit_breaker(deployment):
    """ECS's circuit breaker: the new tasks that failed to start, counted; at the threshold, the
    deployment fails (and goes back to the source revision with Rollback). True while the new
    tasks cannot start."""
    breaker = deployment["configuration"].get("deploymentCircuitBreaker", {})
    reason = start_failure(deployment) if deployment["status"] == "IN_PROGRESS" else None
    if reason is None:
        return False
    service = deployment["service"]
    failed_to_start(service, deployment["target"]["td"], reason)
    if not breaker.get("enable"):
        return True  # ECS keeps starting tasks that fail
    deployment["failed_tasks"] += service.desired_count
    if deployment["failed_tasks"] >= breaker_threshold(service.desired_count):
        deployment["status"] = "ROLLBACK_SUCCESSFUL" if breaker.get("rollback") else "STOPPED"
        if breaker.get("rollback") and deployment["source"]:
            service.task_definition = deployment["source"]["td"]
    return True


# behaviour: ecs.task.cannot-pull-image
def failed_to_start(service, task_definition, reason):
    """The desired count's tasks of the new revision, started by its deployment (startedBy: "the
    deployment ID of that service", Task in the ECS API Reference) and stopped before they ran,
    as tasks.py's one-off tasks stop: TaskFailedToStart with ECS's reason."""
    backend = ecs_backends[service._account_id][service.region_name]
    primary = next(d for d in service.deployments if d["status"] == "PRIMARY")
    started = backend.run_task(
        service.cluster_arn, task_definition, service.desired_count, None, primary["id"], None,
        "FARGATE", getattr(service, "network_configuration", None), f"service:{service.name}",
    )  # fmt: skip
    for task in started:
        task.last_status = task.desired_status = "STOPPED"
        task.stop_code, task.stopped_reason = "TaskFailedToStart", reason


def advance(deployment):
    """One tick of the stand-in's clock: the next stage, SUCCESSFUL after the last."""
    if deployment["status"] != "IN_PROGRESS":
        return
    if deployment["stage"] + 1 < len(deployment["stages"]):
        deployment["stage"] += 1
    else:
        deployment["status"] = "SUCCESSFUL"


def weight(deployment, revision):
    """The share of production traffic the revision takes now (None for ROLLING)."""
    stage, share = deployment["stages"][deployment["stage"]]
    if share is None:
        return None
    new = 0 if deployment["status"].startswith("ROLLBACK") else share
    return float(new if revision == "target" else 100 - new)


def summary(deployment, revision):
    described = {"arn": deployment[revision]["arn"], "requestedTaskCount": 0}
    share = weight(deployment, revision)
    if share is not None:
        described["requestedProductionTrafficWeight"] = share
    return described


def described(deployment):
    stage, _ = deployment["stages"][deployment["stage"]]
    result = {
        "serviceDeploymentArn": deployment["arn"],
        "serviceArn": deployment["service"].arn,
        "createdAt": deployment["created"].timestamp(),
        "status": deployment["status"],
        "lifecycleStage": stage,
        "targetServiceRevision": summary(deployment, "target"),
        "sourceServiceRevisions": [summary(deployment, "source")] if deployment["source"] else [],
        "deploymentConfiguration": deployment["configuration"],
        "alarms": {
            "status": "TRIGGERED" if deployment["triggered"] else "MONITORING",
            "alarmNames": deployment["configuration"].get("alarms", {}).get("alarmNames", []),
            "triggeredAlarmNames": deployment["triggered"],
        },
    }
    breaker = deployment["configuration"].get("deploymentCircuitBreaker", {})
    if breaker.get("enable"):
        tripped = (
            deployment["status"] in ("ROLLBACK_SUCCESSFUL", "STOPPED")
            and not (deployment["triggered"])
        )
        result["deploymentCircuitBreaker"] = {
            "status": "TRIGGERED" if tripped else "MONITORING",
            "failureCount": deployment["failed_tasks"],
            "threshold": breaker_threshold(deployment["service"].desired_count),
        }
        if tripped:
            result["statusReason"] = "ECS deployment circuit breaker: tasks failed to start."
            if deployment["source"]:
                result["rollback"] = {
                    "reason": "ECS deployment circuit breaker: tasks failed to start.",
                    "serviceRevisionArn": deployment["source"]["arn"],
                }
    if deployment["triggered"]:
        names = ", ".join(deployment["triggered"])
        result["rollback"] = {
            "reason": f"the CloudWatch alarm(s) {names} went into ALARM state",
            "serviceRevisionArn": deployment["source"]["arn"] if deployment["source"] else "",
        }
        result["statusReason"] = "Deployment failed: one or more alarms went into ALARM state."
    return result


def deployments_of(response, service=None):
    """The deployments of the service named (ARN or name), or of every service."""
    services = ecs_backends[response.current_account][response.region].services.values()
    return [
        deployment
        for each in services
        if service in (None, each.arn, each.name)
        for deployment in reversed(vars(each).get("service_deployments", []))
    ]


# behaviour: ecs.service-deployments.listed
def list_service_deployments(self):
    briefs = [
        {
            "serviceDeploymentArn": d["arn"],
            "serviceArn": d["service"].arn,
            "createdAt": d["created"].timestamp(),
            "status": d["status"],
        }
        for d in deployments_of(self, self._get_param("service"))
    ]
    return ActionResult({"serviceDeployments": briefs})


# behaviour: ecs.service-deployments.listed
def describe_service_deployments(self):
    wanted = set(self._get_param("serviceDeploymentArns", []))
    found = [d for d in deployments_of(self) if d["arn"] in wanted]
    stuck = set()
    for deployment in found:
        roll_back_on_alarm(deployment)
        if trip_the_circuit_breaker(deployment):
            stuck.add(deployment["arn"])
        set_weights(deployment)
    result = [described(d) for d in found]
    for deployment in found:
        if deployment["arn"] not in stuck:
            advance(deployment)
        end_deployments(deployment)
    return ActionResult({"serviceDeployments": result, "failures": []})


# Stack operations held for a service deployment whose tasks cannot start (stack id -> the
# deployment, and the template and parameters before an update).
HELD = {}


# behaviour: cfn.ecs.waits-for-deployment
def execute_change_set(self, change_set_name, stack_name=None):
    """rules.py's, then CloudFormation waits for the service deployment the operation started:
    one whose tasks cannot start, without a circuit breaker, keeps the stack and its service
    CREATE_IN_PROGRESS or UPDATE_IN_PROGRESS, as on AWS until CloudFormation's handler gives up
    (hours; not taught) or the update is cancelled. A deployment whose tasks start ends within
    the deploy tool's following, and the stand-in completes the operation at once, as moto does."""
    stack = self.stacks[self.describe_change_set(change_set_name).stack_id]
    before = (stack.template, dict(stack.parameters))
    started = datetime.now(UTC)
    rules.execute_change_set(self, change_set_name, stack_name)
    if not stack.status.endswith("_COMPLETE") or "ROLLBACK" in stack.status:
        return
    operation = stack.status.partition("_")[0]
    for name, resource in stack.resource_map.items():
        deployment = (getattr(resource, "service_deployments", None) or [None])[-1]
        if deployment is None or deployment["created"] < started:
            continue
        breaker = deployment["configuration"].get("deploymentCircuitBreaker", {})
        if breaker.get("enable") or start_failure(deployment) is None:
            continue
        if stack.events[-1].resource_type == "AWS::CloudFormation::Stack":
            stack.events.pop()  # moto's *_COMPLETE
        stack.status = f"{operation}_IN_PROGRESS"
        rules.record_event(
            stack, name, "AWS::ECS::Service", stack.status, None, resource.physical_resource_id
        )
        HELD[stack.stack_id] = (deployment, name, before)


# behaviour: cfn.cancel-update-stack
def cancel_update_stack(self):
    """CancelUpdateStack, which moto lacks: only for a stack UPDATE_IN_PROGRESS; the update's
    resources are cancelled and the stack rolls back to its template and parameters before
    (UPDATE_ROLLBACK_COMPLETE), which updates its service back to the task definition before
    ("Cancel a stack update", CloudFormation User Guide:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn--stack-update-cancel.html;
    API_CancelUpdateStack: "You can cancel only stacks that are in the UPDATE_IN_PROGRESS
    state")."""
    name = self._get_param("StackName")
    stack = self.cloudformation_backend.get_stack(name)
    if stack.status != "UPDATE_IN_PROGRESS" or stack.stack_id not in HELD:
        raise ValidationError(
            name, f"CancelUpdateStack cannot be called from current stack status {stack.status}"
        )
    _, logical_id, (template, parameters) = HELD.pop(stack.stack_id)
    rules.record_event(
        stack, logical_id, "AWS::ECS::Service", "UPDATE_FAILED", "Resource update cancelled"
    )
    stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason="User Initiated")
    shown = len(stack.events)
    rules.update_to(stack, template, parameters)
    del stack.events[shown:]  # moto's events of the rollback's own update
    rules.record_event(stack, logical_id, "AWS::ECS::Service", "UPDATE_COMPLETE", None)
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"
    return EmptyResult()


PATCHES = [
    (rules, "with_capacity", with_deployment),
    (CloudFormationBackend, "execute_change_set", execute_change_set),
    (CloudFormationResponse, "cancel_update_stack", cancel_update_stack),
    (EC2ContainerServiceResponse, "list_service_deployments", list_service_deployments),
    (EC2ContainerServiceResponse, "describe_service_deployments", describe_service_deployments),
]
