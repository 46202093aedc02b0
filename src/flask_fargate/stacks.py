"""Create, update, plan and delete the site's two stacks, always through change sets."""

import contextlib
import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import botocore.exceptions

from flask_fargate import dns, site
from flask_fargate.errors import USAGE, Abort
from flask_fargate.ui import console, status_style, table
from flask_fargate.watch import StackWatcher, all_events, first_failure, is_settled

# What AWS answers when a change set (or an update) would change nothing: a success.
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")

# States a stack can only leave by being deleted.
DELETE_ONLY = {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"}
DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
# States whose outputs can be used (after a failed update, the stack is back as it was).
USABLE = DONE | {"UPDATE_ROLLBACK_COMPLETE"}


@dataclass(frozen=True)
class StackSpec:
    name: str
    template: Path
    # Parameters only the deploy tool sets: never taken from --set.
    set_by_the_tool: frozenset = frozenset()
    # Parameters the tool fills in itself, which --set may still give: a value kept from the
    # stack is the tool's, not one the user set, so it is not announced as theirs.
    found_by_the_tool: frozenset = frozenset()

    def body(self):
        """The template as CloudFormation gets it: compact JSON, without the YAML file's comments
        (the resources template with them is over CloudFormation's 51,200 bytes for a
        TemplateBody: "CloudFormation quotas" in the CloudFormation User Guide)."""
        return compact(self.template.read_text())


@functools.lru_cache(maxsize=8)
def compact(text):
    return json.dumps(decode(text), separators=(",", ":"))


# Parameters of the service stack that the deploy tool sets from the resources stack's outputs
# of the same name: values a parameter of the resources stack may change, which an export could
# not carry (CloudFormation refuses to change an export that another stack imports).
FROM_RESOURCES = (
    "DomainName",
    "SiteUrl",
    "ServiceSubnetIds",
    "ServiceAssignPublicIp",
    # What a blue_green, canary or linear deploy moves traffic with (the listener rule follows
    # EnableHttps): empty from a resources stack made before them, and the service deploys
    # ROLLING until that stack is updated.
    "ProductionListenerRuleArn",
    "AlternateTargetGroupArn",
    "LoadBalancerRoleArn",
    # The resources stack whose load balancer serves the site: its own, or its host's.
    "LoadBalancerStackName",
)


# A joining site's listener and rule priority come from its host (flask_fargate/host.py).
def resources():
    here = site.current()
    return StackSpec(
        here.resources_stack,
        here.templates / "resources.yaml",
        frozenset({"HostListenerArn", "ListenerRulePriority"}),
        # The GitHub repository's ids, which the tool asks GitHub for (github.py).
        frozenset({"GithubOwnerId", "GithubRepoId"}),
    )


def service():
    here = site.current()
    return StackSpec(
        here.service_stack,
        here.templates / "service.yaml",
        frozenset(
            {"ImageTag", "ResourcesStackName", "SecretsArn", "SecretsVersion", *FROM_RESOURCES}
        ),
    )


# The stacks' Metadata FlaskFargate Interface versions this tool deploys (the parameters it sets,
# the outputs it reads); a template's changes that keep to them do not change the version.
INTERFACES = (1,)


def check_interface():
    """Refuse, before anything is asked of AWS, templates written for another tool version."""
    from importlib.metadata import version

    for spec in (resources(), service()):
        metadata = decode(spec.template.read_text()).get("Metadata") or {}
        interface = (metadata.get("FlaskFargate") or {}).get("Interface")
        if interface not in INTERFACES:
            said = f"interface {interface}" if interface else "no interface version"
            raise Abort(
                f"{spec.template.relative_to(site.current().folder)}: {said} (Metadata "
                f"FlaskFargate Interface); flask-fargate {version('flask-fargate')} deploys "
                f"interface {', '.join(map(str, INTERFACES))}: `cruft update` the site, or pin "
                "in requirements-tool.txt the tool its CHANGELOG names for that interface",
                USAGE,
            )


def error_message(error):
    return error.response.get("Error", {}).get("Message", str(error))


def describe(aws, name):
    """The stack as describe_stacks returns it, or None when there is none by that name."""
    try:
        return aws.cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except botocore.exceptions.ClientError as error:
        if "does not exist" in error_message(error):
            return None
        raise


def require(aws, name):
    """The stack, which must exist (in any state)."""
    stack = describe(aws, name)
    if stack is None or stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        raise Abort(
            f"Stack {name} does not exist in {aws.region}: create it with `make deploy`", USAGE
        )
    return stack


def require_usable(aws, name):
    """The stack, with its outputs ready: created, or back as it was after a failed update."""
    stack = require(aws, name)
    state = stack["StackStatus"]
    if state not in USABLE:
        hint = (
            "`make deploy ARGS=--recreate` creates it again"
            if state in DELETE_ONLY
            else "`make status` shows where it is"
        )
        raise Abort(f"{name} is {state}, so its outputs are not ready: {hint}", USAGE)
    return stack


def physical_ids(aws, stack_id, resource_type):
    """The ids of the stack's resources of that type that exist (not deleted, as after a
    rollback or a partial deletion, whose ids CloudFormation still lists)."""
    described = aws.cloudformation.describe_stack_resources(StackName=stack_id)
    return [
        resource["PhysicalResourceId"]
        for resource in described["StackResources"]
        if resource.get("ResourceType") == resource_type
        and resource.get("PhysicalResourceId")
        and resource.get("ResourceStatus") != "DELETE_COMPLETE"
    ]


def domain_of(stack):
    """The domain the stack serves (a --set may have changed it since generation)."""
    return parameters_of(stack).get("DomainName") or site.current().domain


def outputs(stack):
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def service_inputs(resources):
    """The service stack's parameters that come from the resources stack's outputs."""
    # What a resources stack made before an output had stands for it.
    older = {"LoadBalancerStackName": site.current().resources_stack}
    return {key: resources.get(key, older.get(key, "")) for key in FROM_RESOURCES}


def parameters_of(stack):
    return {p["ParameterKey"]: p.get("ParameterValue") for p in (stack or {}).get("Parameters", [])}


def defaults_of(summary):
    return {p["ParameterKey"]: p.get("DefaultValue") for p in summary["Parameters"]}


def decode(text):
    """A template's YAML with short-form tags (`!Ref x`) in long form (cfn-lint loads slowly)."""
    from cfnlint.decode.cfn_yaml import loads

    return loads(text)


def deployed_template(aws, stack_name):
    """The template a stack runs, as a dict (short-form tags in long form)."""
    body = aws.cloudformation.get_template(StackName=stack_name)["TemplateBody"]
    return decode(body) if isinstance(body, str) else body


def references(node):
    """The names a template node refers to: Ref, Fn::GetAtt, and Fn::Sub's ${Name[.Attribute]}
    ("is the same as Ref")."""
    if isinstance(node, list):
        for item in node:
            yield from references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                yield value
            elif key == "Fn::GetAtt":
                yield value[0] if isinstance(value, list) else value.split(".")[0]
            elif key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else value
                yield from (name.split(".")[0] for name in re.findall(r"\$\{(\w[^}]*)\}", text))
                yield from references(variables)
            else:
                yield from references(value)


def conditions_of(node):
    """The names of the conditions a template node reads (Fn::If, Condition)."""
    if isinstance(node, list):
        return {name for item in node for name in conditions_of(item)}
    if not isinstance(node, dict):
        return set()
    found = {
        name for name in (node.get("Condition"), node.get("Fn::Condition")) if isinstance(name, str)
    }
    if "Fn::If" in node:
        found.add(node["Fn::If"][0])
    return found | {name for value in node.values() for name in conditions_of(value)}


def condition_values(template, values):
    """Each of the template's conditions, true or false with these parameter values. Conditions
    are made of Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition and Ref ("Condition functions",
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-conditions.html);
    another function's node (Fn::FindInMap...) is compared as written."""
    conditions = template.get("Conditions", {})

    def value(node):
        if not isinstance(node, dict):
            return node
        ((function, argument),) = node.items()
        if function == "Ref":
            return values.get(argument)
        if function == "Condition":
            return value(conditions[argument])
        if function == "Fn::Equals":
            first, second = map(value, argument)
            return str(first) == str(second)
        if function == "Fn::Not":
            return not value(argument[0])
        if function in ("Fn::And", "Fn::Or"):
            return (all if function == "Fn::And" else any)(map(value, argument))
        return node

    return {name: value(condition) for name, condition in conditions.items()}


def changed_outputs(aws, spec, stack, summary, values, keys):
    """The outputs among `keys` that the stack's planned update (`summary`, to parameter
    `values`) changes: those whose Value or Condition reads a resource it adds, removes or
    (maybe) replaces, a parameter whose value changes, or a condition that turns. A change set
    lists the resources it changes, never the outputs (Changes, in DescribeChangeSet:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html),
    and a stack planned against those outputs sees them as they are."""
    if summary["action"] != "update":
        return []
    before = parameters_of(stack)
    old, new = deployed_template(aws, spec.name), decode(spec.body())
    changes = summary["changes"]
    names = {change["logical_id"] for change in changes if change["replacement"] != "False"}
    names |= {key for key, value in values.items() if before.get(key) != value}
    was, will = condition_values(old, before), condition_values(new, values)
    turned = {name for name in was.keys() | will.keys() if was.get(name) != will.get(name)}
    outputs = new.get("Outputs", {})
    return sorted(
        key
        for key in keys
        if key in outputs
        and (names & set(references(outputs[key])) or turned & conditions_of(outputs[key]))
    )


def with_changed_outputs(summary, outputs):
    """The plan of a stack that takes `outputs` of the other, which the other's planned update
    changes: it changes too, beyond what its change set (made with their values as they are)
    lists."""
    if not outputs or summary.get("note", "no changes") != "no changes":  # not planned, as said
        return summary
    changed = {"changes": [], "parameters": {}, **summary, "changed_outputs": outputs}
    changed.pop("note", None)
    return changed | {"action": summary["action"] or "update"}


def imports_dropped(aws):
    """True when the service stack imports an export that the resources template has no more.

    CloudFormation refuses to remove an export in use, so such a service stack must be updated
    first: a site deployed by an older version of this template is one.
    """
    imported = set(
        re.findall(r"\$\{ResourcesStackName\}-(\w+)", str(deployed_template(aws, service().name)))
    )
    template = decode(resources().body())
    exported = {key for key, output in template["Outputs"].items() if "Export" in output}
    return bool(imported - exported)


# A command asks for the same summaries several times (planning, checking, deploying), and
# reading a template takes CloudFormation a moment: each is asked for once per command.
@functools.lru_cache(maxsize=16)
def summary_of(aws, body=None, stack_id=None, version=None):
    if body is not None:
        return aws.cloudformation.get_template_summary(TemplateBody=body)
    return aws.cloudformation.get_template_summary(StackName=stack_id)


def template_summary(aws, spec):
    """The template's parameter defaults and the IAM capabilities it needs, as AWS reads them."""
    try:
        summary = summary_of(aws, body=spec.body())
    except botocore.exceptions.ClientError as error:
        message = error_message(error)
        raise Abort(f"{spec.template.name}: AWS rejected the template: {message}") from None
    return defaults_of(summary), summary.get("Capabilities", [])


def deployed_defaults(aws, stack):
    """The parameter defaults of the template the stack was last deployed with."""
    version = stack.get("LastUpdatedTime") or stack.get("CreationTime")
    return defaults_of(summary_of(aws, stack_id=stack["StackId"], version=version))


def change_set_parameters(defaults, current, deployed, overrides):
    """The Parameters of a change set, and the values kept from the stack as (key, value, default).

    `defaults` are the template's, `current` the stack's values, `deployed` the defaults of the
    template the stack runs. An override is passed as given. A stack value other than its
    template's default was set on purpose (with --set, or in the console): it is kept with
    UsePreviousValue, so that no update reverts it silently. Anything else is left out, so the
    template's default applies, including a default edited since the last deploy.
    """
    parameters, kept = [], []
    for key, default in defaults.items():
        if key in overrides:
            parameters.append({"ParameterKey": key, "ParameterValue": overrides[key]})
        elif key in current and current[key] != deployed.get(key):
            parameters.append({"ParameterKey": key, "UsePreviousValue": True})
            kept.append((key, current[key], default))
    return parameters, kept


def values_after(defaults, current, parameters):
    """Each parameter's value once a change set with these Parameters has run."""
    values = dict(defaults)
    for parameter in parameters:
        key = parameter["ParameterKey"]
        kept = parameter.get("UsePreviousValue")
        values[key] = current[key] if kept else parameter["ParameterValue"]
    return values


def is_new(stack):
    """True when a deploy creates the stack (again): none yet, or only deletable."""
    return stack is None or stack["StackStatus"] in DELETE_ONLY | {"REVIEW_IN_PROGRESS"}


def planned_values(aws, spec, overrides):
    """The parameter values the stack will have after a deploy with these overrides."""
    stack = describe(aws, spec.name)
    defaults, _ = template_summary(aws, spec)
    if is_new(stack):
        current, deployed = {}, {}
    else:
        current, deployed = parameters_of(stack), deployed_defaults(aws, stack)
    parameters, _ = change_set_parameters(defaults, current, deployed, overrides)
    return values_after(defaults, current, parameters)


def parameters_for(aws, spec, stack, creating, overrides):
    """The change set's Parameters and capabilities, saying which stack values are kept."""
    defaults, capabilities = template_summary(aws, spec)
    if creating:
        current, deployed = {}, {}
    else:
        current, deployed = parameters_of(stack), deployed_defaults(aws, stack)
    parameters, kept = change_set_parameters(defaults, current, deployed, overrides)
    print_kept(spec, kept)
    return parameters, capabilities, current


def no_changes(message):
    return any(words in (message or "") for words in NO_CHANGES)


def create_change_set(aws, spec, parameters, capabilities, change_set_type):
    """Create a change set and wait until AWS has computed it; None when nothing would change.
    Ctrl-C meanwhile deletes it: see `interrupted`."""
    name = f"deploy-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    try:
        return computed_change_set(aws, spec, name, parameters, capabilities, change_set_type)
    except KeyboardInterrupt:
        raise interrupted(aws, spec, name, change_set_type == "CREATE") from None


def interrupted(aws, spec, name, creating):
    """Ctrl-C before the tool executed its change set `name`: the change set is deleted, so that
    nobody executes it later thinking it the one reviewed, with the empty stack a CREATE change
    set makes; returns the Abort to raise. DeleteChangeSet refuses a change set still being
    created (InvalidChangeSetStatus: "the change set status might be CREATE_IN_PROGRESS",
    https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteChangeSet.html),
    so its creation is waited for first."""
    cloudformation = aws.cloudformation
    console.print(f"Interrupted: deleting change set {name} of {spec.name}, which never ran")
    waiter = cloudformation.get_waiter("change_set_create_complete")
    with contextlib.suppress(botocore.exceptions.WaiterError):
        waiter.wait(
            ChangeSetName=name, StackName=spec.name, WaiterConfig={"Delay": 3, "MaxAttempts": 200}
        )
    with contextlib.suppress(botocore.exceptions.ClientError):  # never created: nothing to delete
        cloudformation.delete_change_set(ChangeSetName=name, StackName=spec.name)
    if creating:
        remove_review_stack(aws, spec.name)
    return Abort(f"Interrupted: {spec.name} stays as it was, its change set deleted unrun.", 130)


def computed_change_set(aws, spec, name, parameters, capabilities, change_set_type):
    cloudformation = aws.cloudformation
    try:
        created = cloudformation.create_change_set(
            StackName=spec.name,
            ChangeSetName=name,
            ChangeSetType=change_set_type,
            TemplateBody=spec.body(),
            Parameters=parameters,
            Capabilities=capabilities,
            Description="flask-fargate",
        )
    except botocore.exceptions.ClientError as error:
        if no_changes(error_message(error)):
            return None
        raise Abort(f"{spec.name}: AWS rejected the change: {error_message(error)}") from None
    waiter = cloudformation.get_waiter("change_set_create_complete")
    try:
        waiter.wait(ChangeSetName=created["Id"], WaiterConfig={"Delay": 3, "MaxAttempts": 200})
    except botocore.exceptions.WaiterError:
        reason = cloudformation.describe_change_set(ChangeSetName=created["Id"]).get(
            "StatusReason", "no reason given"
        )
        cloudformation.delete_change_set(ChangeSetName=created["Id"])
        if no_changes(reason):
            return None
        raise Abort(f"{spec.name}: AWS rejected the change: {reason}") from None
    return describe_change_set(cloudformation, created["Id"])


def describe_change_set(cloudformation, change_set_id):
    change_set = cloudformation.describe_change_set(ChangeSetName=change_set_id)
    while change_set.get("NextToken"):
        page = cloudformation.describe_change_set(
            ChangeSetName=change_set_id, NextToken=change_set.pop("NextToken")
        )
        change_set["Changes"] += page["Changes"]
        change_set["NextToken"] = page.get("NextToken")
    return change_set


def explain_delete_only(aws, stack):
    """Why a stack can only be deleted, with its first failure and the command that helps."""
    failure = first_failure(all_events(aws.cloudformation, stack["StackId"]))
    cause = f" First failure: {failure}." if failure else ""
    return (
        f"{stack['StackName']} is {stack['StackStatus']}: its creation failed and AWS can only "
        f"delete it now.{cause} Fix the cause, then `flask-fargate up --recreate` deletes "
        "and creates it again."
    )


def settle(aws, stack, on_poll=None):
    """Follow an operation already running on the stack (an earlier, interrupted run) to its end."""
    if stack is None or is_settled(stack["StackStatus"]):
        return stack
    console.print(f"{stack['StackName']} is {stack['StackStatus']}: following that operation first")
    watcher = StackWatcher(aws.cloudformation, stack["StackId"], on_poll)
    settled = watcher.wait(f"The operation on {stack['StackName']}")
    # A `destroy` that was running leaves no stack: the caller creates a new one.
    return None if settled["StackStatus"] == "DELETE_COMPLETE" else settled


def deploy(aws, spec, overrides, confirm, recreate=False, on_poll=None):
    """Create or update the stack to match its template; returns the stack when it is done.

    The change set is shown, then executed, exactly as shown, once `confirm(spec)` says yes.
    """
    stack = settle(aws, describe(aws, spec.name), on_poll)
    if stack and stack["StackStatus"] in DELETE_ONLY:
        if not recreate:
            raise Abort(explain_delete_only(aws, stack))
        delete(aws, stack)
        stack = None
    if stack and stack["StackStatus"] == "UPDATE_ROLLBACK_FAILED":
        raise Abort(
            f"{spec.name} is UPDATE_ROLLBACK_FAILED: run `aws cloudformation "
            f"continue-update-rollback --stack-name {spec.name} {aws.cli_options()}` (or Stack "
            "actions > Continue update rollback in the console), then `make deploy` again"
        )
    creating = is_new(stack)
    parameters, capabilities, current = parameters_for(aws, spec, stack, creating, overrides)
    change_set = create_change_set(
        aws, spec, parameters, capabilities, "CREATE" if creating else "UPDATE"
    )
    if change_set is None:
        console.print(f"{spec.name}: no changes, the stack already matches", style="green")
        return stack
    try:
        print_changes(change_summary(spec, change_set, current, creating))
        if not confirm(spec):
            discard(aws, change_set, creating)
            raise Abort(f"Nothing changed: {spec.name} stays as it was.")
        watcher = StackWatcher(aws.cloudformation, change_set["StackId"], on_poll)
    except KeyboardInterrupt:  # at the question, say: the change set shown is not applied
        raise interrupted(aws, spec, change_set["ChangeSetName"], creating) from None
    operation = "creation" if creating else "update"
    count = len(change_set["Changes"])
    console.print(f"{spec.name}: {operation} started ({count} change{'s' * (count != 1)})")
    aws.cloudformation.execute_change_set(ChangeSetName=change_set["ChangeSetId"])
    stack = watcher.wait(f"The {operation} of {spec.name}")
    if stack["StackStatus"] not in DELETE_ONLY:  # those keep their failed resources
        print_left_behind(watcher.events)
    if stack["StackStatus"] not in DONE:
        raise Abort(failure_message(stack, watcher.events))
    console.print(f"{spec.name}: {stack['StackStatus']}", style="green")
    return stack


def print_left_behind(events):
    """An update (or its rollback) that cannot delete a resource still ends; the resource stays,
    billed."""
    for event in events:
        if event["ResourceStatus"] == "DELETE_FAILED":
            console.print(
                f"warning: {event['LogicalResourceId']} ({event['ResourceType']}) could not be "
                "deleted and is no longer part of the stack; delete it by hand: "
                f"{event.get('ResourceStatusReason', 'no reason given')}",
                style="yellow",
            )


def failure_message(stack, events):
    status = stack["StackStatus"]
    failure = first_failure(events) or stack.get("StackStatusReason") or "no reason given"
    if status == "UPDATE_ROLLBACK_COMPLETE":
        after = "The stack is back as it was before, and the site keeps running."
    elif status in DELETE_ONLY:
        after = "Fix the cause, then `flask-fargate up --recreate`."
    else:
        after = "`make status` shows where it is."
    return f"{stack['StackName']} ended {status}. First failure: {failure}. {after}"


def print_kept(spec, kept):
    for key, value, default in kept:
        if key in spec.found_by_the_tool:
            continue
        console.print(
            f"{spec.name}: keeping {key}={value} from the stack (template default: {default!r}; "
            f"`--set {key}=...` changes it)",
            style="dim",
        )


def plan(aws, spec, overrides):
    """What a deploy would change in the stack, as a summary (see change_summary); applies
    nothing: the change set made to find out is deleted."""
    stack = describe(aws, spec.name)
    if stack and not is_settled(stack["StackStatus"]):
        return {
            "stack": spec.name,
            "action": None,
            "note": f"{stack['StackStatus']}: plan again when that ends",
        }
    if stack and stack["StackStatus"] in DELETE_ONLY:
        return {"stack": spec.name, "action": None, "note": explain_delete_only(aws, stack)}
    creating = is_new(stack)
    parameters, capabilities, current = parameters_for(aws, spec, stack, creating, overrides)
    try:
        change_set = create_change_set(
            aws, spec, parameters, capabilities, "CREATE" if creating else "UPDATE"
        )
        if change_set is None:
            return {"stack": spec.name, "action": None, "note": "no changes"}
        aws.cloudformation.delete_change_set(ChangeSetName=change_set["ChangeSetId"])
        return change_summary(spec, change_set, current, creating)
    finally:
        if creating:
            remove_review_stack(aws, spec.name)


def discard(aws, change_set, creating):
    """Delete a change set nobody wanted, and the empty stack a CREATE change set made."""
    aws.cloudformation.delete_change_set(ChangeSetName=change_set["ChangeSetId"])
    if creating:
        remove_review_stack(aws, change_set["StackName"])


def remove_review_stack(aws, name):
    """Delete the empty REVIEW_IN_PROGRESS stack that a CREATE change set leaves behind."""
    stack = describe(aws, name)
    if stack and stack["StackStatus"] == "REVIEW_IN_PROGRESS":
        aws.cloudformation.delete_stack(StackName=stack["StackId"])


def change_summary(spec, change_set, current, creating):
    """A change set as facts: each resource's change, and each parameter it changes."""
    resources = [change["ResourceChange"] for change in change_set["Changes"]]
    changed = {
        parameter["ParameterKey"]: parameter.get("ParameterValue")
        for parameter in change_set.get("Parameters", [])
    }
    return {
        "stack": spec.name,
        "action": "create" if creating else "update",
        "changes": [
            {
                "action": resource["Action"],
                "logical_id": resource["LogicalResourceId"],
                "type": resource["ResourceType"],
                "replacement": resource.get("Replacement")
                if resource["Action"] == "Modify"
                else None,
            }
            for resource in resources
        ],
        "parameters": {
            key: {"from": current[key], "to": value}
            for key, value in changed.items()
            if not creating and key in current and current[key] != value
        },
    }


def print_changes(summary):
    """A change summary as a table, or its note when nothing would change."""
    if summary["action"] is None:
        console.print(f"{summary['stack']}: {summary['note']}")
        return
    verb = "would be created" if summary["action"] == "create" else "would change"
    changes = table(
        "action", "logical id", "type", "replacement", title=f"{summary['stack']} {verb}:"
    )
    for change in summary["changes"]:
        changes.add_row(
            change["action"],
            change["logical_id"],
            change["type"],
            change["replacement"] or "",
            style={"Add": "green", "Remove": "red"}.get(change["action"], "yellow"),
        )
    if summary["changes"]:
        console.print(changes)
    for key, values in summary["parameters"].items():
        console.print(f"  parameter {key}: {values['from']} -> {values['to']}")
    if summary.get("changed_outputs"):
        console.print(
            f"{summary['stack']}: changes too, as {resources().name} changes its outputs "
            f"{', '.join(summary['changed_outputs'])}, which this stack takes (a change set "
            "sees them only as they are now); `up` shows those changes before making them",
            style="yellow",
        )


def delete(aws, stack):
    """Delete the stack and wait until it is gone."""
    name = stack["StackName"]
    # A hosted zone the stack made can only go once it holds nothing the stack did not make.
    dns.remove_records_not_made_by_the_stack(aws, physical_ids(aws, stack["StackId"], dns.ZONE))
    console.print(f"{name}: deleting")
    watcher = StackWatcher(aws.cloudformation, stack["StackId"])
    aws.cloudformation.delete_stack(StackName=stack["StackId"])
    stack = watcher.wait(f"The deletion of {name}")
    if stack["StackStatus"] != "DELETE_COMPLETE":
        failure = first_failure(watcher.events) or stack.get("StackStatusReason") or "no reason"
        raise Abort(
            f"{name} ended {stack['StackStatus']}. First failure: {failure}. Remove what holds "
            "that resource, then run `make destroy` again."
        )
    console.print(f"{name}: DELETE_COMPLETE", style=status_style("DELETE_COMPLETE"))
