"""The registry of AWS behaviours (behaviours.toml): what the stand-in teaches or the tool
assumes, where AWS says so, and what an acceptance run on AWS saw.

The file is written by dump() (one `key = "value"` a line), so a run on AWS can update an
entry's standing and leave the rest of the file, comments aside, as it was.
"""

import importlib
import json
import re
import tomllib
from pathlib import Path

REGISTRY = Path(__file__).with_name("behaviours.toml")
ID = re.compile(r"[a-z0-9]+(\.[a-z0-9]+(-[a-z0-9]+)*)+")
STANDINGS = ("documented", "observed", "contradicted", "unknown")
# Where a `standin` or `tool` reference points: module:attribute[.attribute] in this package.
PACKAGES = {"standin": "flask_fargate.standin", "tool": "flask_fargate"}
KEYS = ("id", "says", "source", "standin", "tool", "scenario", "standing", "seen")
HEADER = """\
# The AWS behaviours flask-fargate relies on: what the stand-in (src/flask_fargate/standin) teaches
# moto, or what the deploy tool assumes. One [[behaviour]] each:
#   id        short and stable; the stand-in's rules name it in a `# behaviour: <id>` comment
#   says      the behaviour, in one sentence
#   source    where AWS (or an issue tracker) says so
#   standin   the stand-in rule that teaches it, module:function in flask_fargate.standin
#             ("" when the stand-in does not teach it)
#   tool      where the deploy tool relies on it, module:function in flask_fargate (optional)
#   scenario  the acceptance scenario that checks it (acceptance/scenarios.py), "" for none yet
#   standing  documented (AWS says so, never observed here), observed (an acceptance run on AWS
#             saw it), contradicted (a run on AWS saw otherwise) or unknown (AWS's own pages
#             leave it open, or contradict each other)
#   seen      the date and region of the run on AWS that observed or contradicted it
# `python -m acceptance` on AWS updates standing and seen; tests/test_acceptance.py checks the
# file. Written by acceptance/registry.py:dump, which keeps this header and one key a line.
"""


def load(path=REGISTRY):
    return tomllib.loads(Path(path).read_text())["behaviour"]


def by_id(entries):
    return {entry["id"]: entry for entry in entries}


def dump(entries, path=REGISTRY):
    blocks = []
    for entry in entries:
        lines = ["[[behaviour]]"]
        lines += [f"{key} = {json.dumps(entry[key])}" for key in KEYS if entry.get(key)]
        blocks.append("\n".join(lines))
    Path(path).write_text(HEADER + "\n" + "\n\n".join(blocks) + "\n")


def resolve(reference, package):
    """The object `module:attribute.attribute` names in `package`, or None."""
    module_name, _, attributes = reference.partition(":")
    try:
        found = importlib.import_module(f"{package}.{module_name}")
        for name in attributes.split("."):
            found = getattr(found, name)
    except (ImportError, AttributeError):
        return None
    return found


def problems(entries, scenarios):
    """One line per entry that breaks the registry's rules; `scenarios`: the names that exist."""
    found, seen = [], set()
    for entry in entries:
        ident = entry.get("id", "")
        if not ID.fullmatch(ident):
            found.append(f"{ident!r}: not an id (lowercase words, dotted, hyphens inside)")
        if ident in seen:
            found.append(f"{ident}: listed twice")
        seen.add(ident)
        unknown = set(entry) - set(KEYS)
        if unknown or not entry.get("says") or not entry.get("source", "").startswith("https://"):
            found.append(f"{ident}: needs says and an https source, and no keys but {KEYS}")
        for key, package in PACKAGES.items():
            for reference in filter(None, entry.get(key, "").split(", ")):
                if resolve(reference, package) is None:
                    found.append(f"{ident}: {key} {reference} does not exist in {package}")
        if entry.get("scenario") and entry["scenario"] not in scenarios:
            found.append(f"{ident}: no scenario {entry['scenario']!r}")
        if entry.get("standing") not in STANDINGS:
            found.append(f"{ident}: standing {entry.get('standing')!r}, not one of {STANDINGS}")
        elif (entry["standing"] in ("observed", "contradicted")) != bool(entry.get("seen")):
            found.append(f"{ident}: seen (date, region) goes with observed or contradicted only")
    return found


def record_run(facts, path=REGISTRY):
    """Set the standing of each behaviour a run on AWS checked (its report's facts): observed
    or contradicted, seen on the run's date in its region. A stand-in run is refused: it says
    nothing of AWS."""
    if facts["target"] != "aws":
        raise ValueError(f"a run on {facts['target']} settles nothing on AWS")
    seen = f"{facts['started'][:10]}, {facts['region']}"
    standing = {ident: "observed" for ident in facts["registry"]["confirmed"]}
    standing |= {ident: "contradicted" for ident in facts["registry"]["contradicted"]}
    entries = load(path)
    for entry in entries:
        if entry["id"] in standing:
            entry["standing"], entry["seen"] = standing[entry["id"]], seen
    dump(entries, path)
