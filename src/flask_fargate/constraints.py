"""`--set NAME=VALUE` checked before anything changes: against the constraints the template
declares for that parameter, and Fargate's task sizes. CloudFormation checks the constraints only
when it creates the change set, after the resources stack's update when the parameter is the
service stack's, and the stand-in not at all; a task size Fargate does not run fails the
service's update half way."""

import re

from flask_fargate import fargate, stacks
from flask_fargate.errors import USAGE, Abort


def declared(spec):
    """The template's Parameters section, as written (constraints included)."""
    return stacks.decode(spec.template.read_text()).get("Parameters", {})


def number_range(declaration):
    low, high = declaration.get("MinValue"), declaration.get("MaxValue")
    if low is not None and high is not None:
        return f" from {low} to {high}"
    if low is not None:
        return f" of at least {low}"
    return f" of at most {high}" if high is not None else ""


def problem(declaration, value):
    """What the declaration allows, when `value` is not allowed; else None. The constraints as
    "Parameters" in the CloudFormation User Guide defines them:
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
    A Number takes decimals there, but every Number of the site's templates is a count of tasks,
    minutes, seconds, days or a rule priority, which AWS takes whole only."""
    allowed = [str(each) for each in declaration.get("AllowedValues", [])]
    if declaration.get("Type") == "Number":
        wanted = f"expected a whole number{number_range(declaration)}"
        if not re.fullmatch(r"-?[0-9]+", value):
            return wanted
        number = int(value)
        low, high = declaration.get("MinValue"), declaration.get("MaxValue")
        if (low is not None and number < float(low)) or (high is not None and number > float(high)):
            return wanted
        if allowed and number not in {int(each) for each in allowed}:
            return f"expected one of {', '.join(allowed)}"
        return None
    if allowed and value not in allowed:
        return f"expected one of {', '.join(allowed)}"
    shortest, longest = declaration.get("MinLength"), declaration.get("MaxLength")
    if longest is not None and len(value) > int(longest):
        return f"expected at most {longest} characters, not {len(value)}"
    if shortest is not None and len(value) < int(shortest):
        return f"expected at least {shortest} characters, not {len(value)}"
    pattern = declaration.get("AllowedPattern")
    # CloudFormation matches the whole value against the pattern.
    if pattern and not re.fullmatch(pattern, value):
        return declaration.get("ConstraintDescription") or f"expected a match of {pattern}"
    return None


def refuse_unfit(spec, overrides):
    """One line for the first `--set` the stack's template does not allow."""
    declarations = declared(spec)
    for key, value in overrides.items():
        found = problem(declarations.get(key, {}), value)
        if found:
            raise Abort(f"--set {key}={value}: {found} ({spec.template.name})", USAGE)


def refuse_a_size_fargate_lacks(values, overrides):
    """One line for a Cpu and Memory Fargate runs no task of: the service's update would fail
    half way. A --set of one of them is checked with the other's value after the deploy (the
    stack's, or the template's default)."""
    found = fargate.size_problem(values["Cpu"], values["Memory"])
    if not found:
        return
    given = " ".join(f"{key}={overrides[key]}" for key in ("Cpu", "Memory") if key in overrides)
    subject = f"--set {given}" if given else f"Cpu {values['Cpu']} and Memory {values['Memory']}"
    raise Abort(f"{subject}: {found}", USAGE)
