"""The stand-in's rules name the registry's behaviours in `# behaviour: <id>` comments, which lead
from a line of code to the evidence for it (acceptance/behaviours.toml)."""

import inspect
import re
from pathlib import Path

from acceptance import registry

SOURCES = Path(__file__).resolve().parents[1] / "src" / "flask_fargate"
COMMENT = re.compile(r"#\s*behaviour:\s*(.+)")


def named_in_code():
    """{id: ["file:line", ...]} of every `# behaviour:` comment under src/flask_fargate."""
    found = {}
    for path in sorted(SOURCES.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if match := COMMENT.search(line):
                for ident in match.group(1).split(","):
                    found.setdefault(ident.strip(), []).append(f"{path.name}:{number}")
    return found


def test_each_behaviour_named_in_code_is_in_the_registry():
    known = registry.by_id(registry.load())
    unknown = {ident: where for ident, where in named_in_code().items() if ident not in known}
    assert not unknown


def test_each_stand_in_rule_the_registry_names_names_it_back():
    missing = []
    for entry in registry.load():
        for reference in filter(None, entry.get("standin", "").split(", ")):
            rule = registry.resolve(reference, registry.PACKAGES["standin"])
            lines, start = inspect.getsourcelines(rule)
            source = Path(inspect.getsourcefile(rule)).read_text().splitlines()
            above = []
            for line in reversed(source[: start - 1]):
                if not line.strip().startswith("#"):
                    break
                above.append(line)
            named = {
                i.strip()
                for line in above
                if (m := COMMENT.search(line))
                for i in m.group(1).split(",")
            }
            if entry["id"] not in named:
                missing.append(f"{reference}: no `# behaviour: {entry['id']}` above it")
    assert not missing, "\n".join(missing)
