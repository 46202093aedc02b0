"""The record of a run: report.json and report.md in the run's folder."""

import json
from dataclasses import asdict


def record(run, facts):
    """The run as JSON-ready facts: `facts` (account, region, times, cost) and its scenarios."""
    scenarios = []
    for scenario in run.scenarios:
        described = asdict(scenario)
        described["checks"] = [
            {**asdict(check), "outcome": check.outcome(run.on_aws)} for check in scenario.checks
        ]
        scenarios.append(described)
    held = run.results()
    checked = {check["id"] for scenario in scenarios for check in scenario["checks"]}
    registry = {
        "confirmed": sorted(ident for ident, yes in held.items() if yes),
        "contradicted": sorted(ident for ident, yes in held.items() if not yes),
        "not meaningful on the stand-in": sorted(checked - set(held)),
    }
    return {**facts, "scenarios": scenarios, "registry": registry}


def markdown(facts):
    on_aws = facts["target"] == "aws"
    lines = [
        f"# Acceptance run {facts['run_id']}",
        "",
        "- against: "
        + (
            f"AWS, account {facts['account']}"
            if on_aws
            else "the stand-in (a moto server), not AWS"
        ),
        f"- region: {facts['region']}; started {facts['started']}; took {facts['seconds']} s",
        f"- cost: at most ${facts['estimate_usd']} estimated before the run; "
        f"${facts['cost_usd']:.2f} for the time it took at the same prices"
        + ("" if on_aws else " (what AWS would charge; the stand-in costs nothing)"),
        f"- left behind: {', '.join(facts['left_behind']) or 'nothing'}",
        "- the tagging API still lists (deleted resources too, for a while): "
        + (", ".join(facts["tagged_after_cleanup"]) or "nothing"),
    ]
    if not on_aws:
        lines.append(
            "- On the stand-in no task runs and no load balancer serves: the checks marked "
            "`not meaningful on the stand-in` and the request counts only mean something on AWS."
        )
    for scenario in facts["scenarios"]:
        outcome = f"failed: {scenario['error']}" if scenario["error"] else "ran"
        lines += ["", f"## {scenario['name']} ({outcome}, {scenario['seconds']} s)", ""]
        requests = scenario["requests"]
        if requests:
            lines.append(f"Requests during its deploys: {json.dumps(requests)}")
            lines.append("")
        lines += [
            f"- observed {o['label']}: `{json.dumps(o['value'], default=str)}`"
            for o in scenario["observations"]
        ]
        lines += [f"- **{c['id']}**: {c['outcome']} ({c['observed']})" for c in scenario["checks"]]
    lines += ["", "## Registry", ""]
    lines += [f"- {outcome}: {', '.join(ids)}" for outcome, ids in facts["registry"].items() if ids]
    return "\n".join(lines) + "\n"


def write(folder, facts):
    (folder / "report.json").write_text(json.dumps(facts, indent=2, default=str) + "\n")
    (folder / "report.md").write_text(markdown(facts))
    return folder / "report.md"
