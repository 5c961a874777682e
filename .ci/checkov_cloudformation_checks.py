"""Write .ci/checkov-cloudformation-checks.json: every check the pinned checkov runs on
CloudFormation, with the resource types it looks at.

Run it with the scanner's own environment (checkov's pins clash with the project's):

    python3 -m venv .venv-scan && .venv-scan/bin/pip install -r .ci/scan-requirements.txt
    .venv-scan/bin/python .ci/checkov_cloudformation_checks.py

and commit the result whenever .ci/scan-requirements.txt changes checkov's version.
tests/security/test_suppressions.py reads the file offline, so the tests need no checkov;
`--check` (which .ci/run runs) writes nothing and fails when the committed file is stale.
"""

import json
import sys
from pathlib import Path

import checkov.cloudformation.checks.resource  # noqa: F401  (importing registers the checks)
from checkov.cloudformation.checks.resource.registry import cfn_registry
from checkov.version import version

OUTPUT = Path(__file__).with_name("checkov-cloudformation-checks.json")
GRAPH_CHECKS = Path(checkov.cloudformation.checks.resource.__file__).parents[1] / "graph_checks"


def resource_checks() -> dict[str, dict]:
    checks: dict[str, dict] = {}
    for registered in (cfn_registry.checks, cfn_registry.wildcard_checks):
        for resource_type, listed in registered.items():
            for check in listed:
                entry = checks.setdefault(check.id, {"name": check.name, "resource_types": set()})
                entry["resource_types"].add(resource_type)
    return checks


def _graph_types(node) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "resource_types":
                found.update(value if isinstance(value, list) else [value])
            else:
                found |= _graph_types(value)
    elif isinstance(node, list):
        for value in node:
            found |= _graph_types(value)
    return found


def graph_checks() -> dict[str, dict]:
    checks = {}
    for path in sorted(GRAPH_CHECKS.rglob("*.json")):
        check = json.loads(path.read_text())
        checks[check["metadata"]["id"]] = {
            "name": check["metadata"]["name"],
            "resource_types": _graph_types(check.get("definition", {})),
        }
    return checks


def main(check: bool) -> int:
    checks = {**resource_checks(), **graph_checks()}
    document = {
        "checkov": version,
        "made_by": ".ci/checkov_cloudformation_checks.py",
        "checks": {
            check_id: {"name": entry["name"], "resource_types": sorted(entry["resource_types"])}
            for check_id, entry in sorted(checks.items())
        },
    }
    text = json.dumps(document, indent=1, sort_keys=True) + "\n"
    if check:
        if not OUTPUT.is_file() or OUTPUT.read_text() != text:
            print(f"{OUTPUT.name} is not checkov {version}'s list: run {document['made_by']}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text)
    print(f"{len(checks)} CloudFormation checks of checkov {version} -> {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv[1:]))
