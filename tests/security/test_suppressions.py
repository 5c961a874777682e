"""Every checkov suppression in the emitted templates suppresses something real, and says why.

The checks the pinned checkov runs on CloudFormation are read offline from
.ci/checkov-cloudformation-checks.json (made by .ci/checkov_cloudformation_checks.py in the
scanner's environment): a suppression naming a check that does not exist there, or one
that does not look at the resource's type, suppresses nothing and only looks like evidence.
"""

from __future__ import annotations

import json
import re

from tap import paths

CHECKS_FILE = paths.REPO / ".ci" / "checkov-cloudformation-checks.json"


def _checks() -> dict:
    return json.loads(CHECKS_FILE.read_text())


def _suppressions(built):
    for name, template in built.all_templates():
        for logical_id, resource in template.get("Resources", {}).items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                yield f"{name}:{logical_id}", resource["Type"], skip


def test_the_check_list_is_of_the_pinned_checkov():
    pinned = re.search(r"^checkov==(\S+)$", (paths.REPO / ".ci/scan-requirements.txt").read_text(), re.M)
    assert _checks()["checkov"] == pinned.group(1)


def test_every_suppression_names_a_check_checkov_runs_on_that_resource_type(built):
    checks = _checks()["checks"]
    inert = sorted(
        f"{where} ({resource_type}): {skip['id']}"
        for where, resource_type, skip in _suppressions(built)
        if resource_type not in checks.get(skip["id"], {}).get("resource_types", [])
    )
    assert inert == []


def test_every_suppression_carries_a_reason(built):
    unexplained = [
        f"{where}: {skip['id']}" for where, _, skip in _suppressions(built)
        if len(skip.get("comment", "").split()) < 5
    ]
    assert unexplained == []
