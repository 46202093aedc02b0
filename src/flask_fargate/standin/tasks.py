"""What the moto server needs, beyond standin/rules.py, for one-off tasks and the secrets.

moto keeps no secret for a stack, registers a stack's task definition without its network mode,
roles and (after an update) with its container definitions in CloudFormation's spelling, starts
a stack's service without its network, and never runs a task. Each rule below says what AWS does
and where AWS says so; `server.moto_server()` applies these patches after its own.

- AWS::SecretsManager::Secret: created through moto's Secrets Manager API, named
  <logical id>-<random> when the template names none, its first value generated from
  GenerateSecretString as a JSON object holding GenerateStringKey (CloudFormation User Guide,
  AWS::SecretsManager::Secret GenerateSecretString); `Ref` is its ARN. CloudFormation tags it, as
  every resource that takes tags, with aws:cloudformation:stack-name, stack-id and logical-id
  (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-resource-tags.html),
  which DescribeSecret lists and Secrets Manager's 50 tags do not count
  (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_TagResource.html).
- AWS::ECS::TaskDefinition takes every field RegisterTaskDefinition takes, NetworkMode,
  ExecutionRoleArn and TaskRoleArn included, and DescribeTaskDefinition answers in the API's
  spelling (containerDefinitions[].image ...) after an update too.
- An update replaces a task definition by a new revision on any change ("Update requires:
  Replacement" for each of its properties), and updates the service that refers to it to the
  new ARN: rules.py's change sets compute that for every resource type.
- AWS::ECS::Service keeps its NetworkConfiguration and PlatformVersion, which DescribeServices
  returns (ECS API Reference, Service).
- RunTask of a Fargate task definition: the task's size is the task definition's cpu and
  memory, a container's memory is optional (ECS Developer Guide, "Task definition parameters
  for Amazon ECS", memory); moto's placement arithmetic fails without it.
- A task runs its container's command and stops when that essential container exits: its
  lastStatus goes PROVISIONING, PENDING, RUNNING, STOPPED ("Amazon ECS task lifecycle"), its
  stopCode is EssentialContainerExited, and the container's exitCode is the command's status
  (API Reference, Task and Container). Its secrets are read from Secrets Manager when it starts,
  into the variables the task definition names, each `valueFrom` the secret's full ARN,
  optionally followed by :json-key:version-stage:version-id (any part empty), which picks a key
  of its JSON object and a version other than AWSCURRENT ("Pass Secrets Manager secrets through
  Amazon ECS environment variables":
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html);
  what it writes goes to the awslogs stream
  <awslogs-stream-prefix>/<container name>/<task id> ("Send Amazon ECS logs to CloudWatch").
  The stand-in: a task whose container command is overridden (a one-off task) runs that command
  here, as arguments of the project's container/entrypoint, on this machine and not in the image,
  with the task definition's environment and secrets, and its output becomes the stream's events.
  A task without an override (the service's) runs nothing here.
- A task whose image is not in its ECR repository never runs: it stops with stopCode
  TaskFailedToStart and a stoppedReason starting "CannotPullContainerError" ("CannotPullContainer
  task errors in Amazon ECS"), the container without an exit code. A secret that cannot be read
  stops it the same way with "ResourceInitializationError: unable to pull secrets or registry
  auth" ("Troubleshoot Amazon ECS ResourceInitializationError errors").
- ListTasks: "When you specify startedBy as the filter, it must be the only filter that you
  use"; without desiredStatus it lists RUNNING tasks ("The default status filter is RUNNING");
  serviceName lists the service's tasks (API Reference, ListTasks). moto takes any mix of
  filters, lists every status by default and ignores serviceName. A service's task is in the
  group service:<name> (API Reference, Task: group).
"""

import json
import os
import secrets
import string
import subprocess
import threading
import time

from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.utils import generate_dns_from_ip
from moto.ecr.models import ecr_backends
from moto.ecs.exceptions import InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, Service, Task, TaskDefinition
from moto.logs.models import logs_backends
from moto.secretsmanager.models import secretsmanager_backends

from flask_fargate import site
from flask_fargate.standin import rules
from flask_fargate.standin.rules import Taught, camel


class Secret(Taught, rules.CloudFormationModel):
    """AWS::SecretsManager::Secret through moto's Secrets Manager API."""

    TYPE = "AWS::SecretsManager::Secret"

    # behaviour: cfn.tags.stack-resource-tags, secretsmanager.cfn.generated-secret
    # behaviour: secretsmanager.cfn-tags-not-counted
    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        properties = cloudformation_json["Properties"]
        generate = properties.get("GenerateSecretString")
        value = properties.get("SecretString")
        if generate:
            value = json.loads(generate.get("SecretStringTemplate", "{}"))
            value[generate["GenerateStringKey"]] = generated(generate)
            value = json.dumps(value)
        suffix = "".join(secrets.choice(string.ascii_letters) for _ in range(12))
        stack_id = kwargs["StackId"]
        stacks_own = {
            "aws:cloudformation:stack-name": stack_id.split("/")[1],
            "aws:cloudformation:stack-id": stack_id,
            "aws:cloudformation:logical-id": kwargs["LogicalId"],
        }
        created = secretsmanager_backends[account_id][region_name].create_secret(
            name=properties.get("Name", f"{resource_name}-{suffix}"),
            secret_string=value,
            secret_binary=None,
            description=properties.get("Description"),
            tags=[
                *properties.get("Tags", []),
                *({"Key": key, "Value": text} for key, text in stacks_own.items()),
            ],
            kms_key_id=properties.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
        return cls(json.loads(created)["ARN"])

    def delete(self, account_id, region_name):
        secretsmanager_backends[account_id][region_name].delete_secret(
            self.physical_id, recovery_window_in_days=None, force_delete_without_recovery=False
        )


def generated(options):
    """A random password as GenerateSecretString makes it (letters and digits here)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(int(options.get("PasswordLength", 32))))


# ---------------------------------------------------------------- task definitions and services


# behaviour: ecs.taskdefinition.all-fields
def with_registration(task_definition, cloudformation_json):
    properties = camel(cloudformation_json["Properties"])
    task_definition.container_definitions = properties["containerDefinitions"]
    task_definition.network_mode = properties.get("networkMode")
    task_definition.execution_role_arn = properties.get("executionRoleArn")
    task_definition.task_role_arn = properties.get("taskRoleArn")
    return task_definition


def create_task_definition(cls, resource_name, cloudformation_json, account_id, region_name, **kw):
    created = rules.create_task_definition(
        cls, resource_name, cloudformation_json, account_id, region_name
    )
    return with_registration(created, cloudformation_json)


def update_task_definition(
    cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
):
    updated = rules.update_task_definition(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    )
    return with_registration(updated, cloudformation_json)


# behaviour: ecs.service.network-configuration
def with_network(service, cloudformation_json):
    properties = camel(cloudformation_json["Properties"])
    service.network_configuration = properties.get("networkConfiguration") or {}
    service.platform_version = properties.get("platformVersion")
    return service


def create_service(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
    created = rules.create_service(cls, resource_name, cloudformation_json, account_id, region_name)
    return with_network(created, cloudformation_json)


def update_service(
    cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
):
    updated = rules.update_service(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    )
    return with_network(updated, cloudformation_json)


moto_requirements = EC2ContainerServiceBackend._calculate_task_resource_requirements


# behaviour: ecs.fargate.container-memory-optional
def task_resource_requirements(task_definition):
    """moto's placement arithmetic, with a container's memory optional, as on Fargate."""
    for container in task_definition.container_definitions:
        container.setdefault("memory", 0)
    return moto_requirements(task_definition)


# ---------------------------------------------------------------- tasks that run


# behaviour: ec2.eni.private-dns-name
def private_dns_name(interface):
    """Every network interface has a private DNS name made from its address (EC2 User Guide,
    "EC2 instance hostname types"), which ECS names among a task's attachment details; moto
    gives one only in a VPC with DNS hostnames on, and fails starting an awsvpc task otherwise."""
    return interface.__dict__.get("dns_name") or generate_dns_from_ip(interface.private_ip_address)


def set_private_dns_name(interface, name):
    interface.__dict__["dns_name"] = name


moto_run_task = EC2ContainerServiceBackend.run_task
moto_last_status = Task.last_status
moto_list_tasks = EC2ContainerServiceBackend.list_tasks


def run_task(self, cluster_str, task_definition_str, count, overrides, *args, **kwargs):
    tasks = moto_run_task(self, cluster_str, task_definition_str, count, overrides, *args, **kwargs)
    commands = {
        override["name"]: override["command"]
        for override in (overrides or {}).get("containerOverrides", [])
        if override.get("command")
    }
    if commands:
        definition = self.describe_task_definition(task_definition_str)
        for task in tasks:
            OneOff(self, task, definition, commands).start()
    return tasks


# behaviour: ecs.listtasks.filters
def list_tasks(
    self, cluster_str=None, container_instance=None, family=None, started_by=None,
    service_name=None, desiredStatus=None,
):  # fmt: skip
    if started_by and (container_instance or family or service_name or desiredStatus):
        raise InvalidParameterException(
            "When you specify startedBy as the filter, it must be the only filter that you use."
        )
    tasks = moto_list_tasks(
        self, cluster_str, container_instance, family, started_by, None, desiredStatus or "RUNNING"
    )
    return [t for t in tasks if not service_name or t.group == f"service:{service_name}"]


def last_status(self):
    """A one-off task's status is its run's; other tasks keep moto's."""
    run = getattr(self, "one_off", None)
    return run.status if run else moto_last_status.fget(self)


# behaviour: ecs.task.secrets-value-from
def secret_reference(value_from):
    """(ARN, JSON key, version stage, version id) of a secret's `valueFrom`, None for a part not
    given: the ARN has seven colon-separated fields, the optional parts follow it."""
    fields = value_from.split(":")
    key, stage, version = (fields[7:] + ["", "", ""])[:3]
    return ":".join(fields[:7]), key or None, stage or None, version or None


def container_environment(account_id, region, container):
    """The container's variables as ECS sets them when its task starts: raises RuntimeError with
    ECS's reason when the image or a secret cannot be had (the task then never starts)."""
    repository_uri, _, tag = container["image"].rpartition(":")
    repository = ecr_backends[account_id][region].repositories.get(repository_uri.partition("/")[2])
    if repository is None or not any(tag in i.image_tags for i in repository.images):
        raise RuntimeError(
            f"CannotPullContainerError: pull image manifest has been retried 7 time(s): "
            f"failed to resolve ref {container['image']}: not found"
        )
    variables = {item["name"]: item["value"] for item in container.get("environment", [])}
    store = secretsmanager_backends[account_id][region]
    for item in container.get("secrets", []):
        arn, key, stage, version = secret_reference(item["valueFrom"])
        try:
            value = store.get_secret_value(arn, version, stage)["SecretString"]
            variables[item["name"]] = json.loads(value)[key] if key else value
        except Exception as error:  # moto's own not-found exception, any other
            raise RuntimeError(
                "ResourceInitializationError: unable to pull secrets or registry auth: "
                f"retrieving secret from {item['valueFrom']}: {error}"
            ) from None
    return variables


class OneOff(threading.Thread):
    """A one-off task's container, run here: see the module's docstring."""

    def __init__(self, backend, task, definition, commands):
        super().__init__(daemon=True)
        self.account_id, self.region = backend.account_id, task.region_name
        self.task = task
        (self.container,) = definition.container_definitions
        self.command = commands[self.container["name"]]
        self.status = "PROVISIONING"
        task.one_off = self
        task.containers[0].exitCode = None  # moto's Container says 0 before anything ran

    # behaviour: ecs.task.essential-container-exit
    def run(self):
        here = site.current()
        self.status = "PENDING"
        try:
            environment = self.environment()
        except RuntimeError as refusal:
            self.stop("TaskFailedToStart", str(refusal), None)
            return
        self.status = "RUNNING"
        ran = subprocess.Popen(  # noqa: S603 - the local user's own command, as in a rehearsal
            [str(here.folder / "container" / "entrypoint"), *self.command],
            cwd=here.folder,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        stream = self.log_stream()
        for line in ran.stdout:
            stream.put_log_events([{"timestamp": int(time.time() * 1000), "message": line}])
        self.stop("EssentialContainerExited", "Essential container in task exited", ran.wait())

    # behaviour: ecs.task.secrets-value-from, ecs.task.cannot-pull-image
    def environment(self):
        return {**os.environ, **container_environment(self.account_id, self.region, self.container)}

    # behaviour: ecs.task.awslogs-stream-name
    def log_stream(self):
        options = self.container["logConfiguration"]["options"]
        task_id = self.task.task_arn.rpartition("/")[2]
        name = f"{options['awslogs-stream-prefix']}/{self.container['name']}/{task_id}"
        group = logs_backends[self.account_id][self.region].groups[options["awslogs-group"]]
        group.create_log_stream(name)
        return group.streams[name]

    # behaviour: ecs.task.essential-container-exit
    def stop(self, code, reason, exit_code):
        container = self.task.containers[0]
        container.exitCode = exit_code  # moto's spelling of the attribute
        if exit_code is None:
            container.reason = reason
        self.task.stop_code = code
        self.task.stopped_reason = reason
        self.task.desired_status = "STOPPED"
        self.status = "STOPPED"


PATCHES = [
    (TaskDefinition, "create_from_cloudformation_json", classmethod(create_task_definition)),
    (TaskDefinition, "update_from_cloudformation_json", classmethod(update_task_definition)),
    (Service, "create_from_cloudformation_json", classmethod(create_service)),
    (Service, "update_from_cloudformation_json", classmethod(update_service)),
    (
        EC2ContainerServiceBackend,
        "_calculate_task_resource_requirements",
        staticmethod(task_resource_requirements),
    ),
    (EC2ContainerServiceBackend, "run_task", run_task),
    (EC2ContainerServiceBackend, "list_tasks", list_tasks),
    (Task, "last_status", property(last_status, moto_last_status.fset)),
    (NetworkInterface, "private_dns_name", property(private_dns_name, set_private_dns_name)),
]
