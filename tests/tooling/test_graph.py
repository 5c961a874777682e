"""The generated stack diagram and manifest root parameters."""

from __future__ import annotations

import json

from troposphere import Ref, sns

from tap import build
from tap.emit import emit_tree
from tap.graph import mermaid
from tap.stacktree import Stack


def small_tree() -> Stack:
    root = Stack.root("root", "r")
    root.parameter("Email", Description="who to tell")
    topics = Stack("topics", "t")
    topics.add(sns.Topic("Topic"))
    topics.output("TopicArn", Ref("Topic"), "t")
    alarms = Stack("alarms", "a")
    arn = alarms.parameter("TopicArn")
    alarms.add(sns.SubscriptionResource("Mail", TopicArn=Ref(arn), Protocol="email", Endpoint="x"))
    nested = root.nest(topics)
    root.nest(alarms, {"TopicArn": nested.output("TopicArn")})
    return root


def test_diagram_shows_nesting_and_the_outputs_passed_between_siblings():
    diagram = mermaid(emit_tree(small_tree(), "test/dev", {}))
    assert diagram.splitlines() == [
        "flowchart LR",
        '  root["root<br/>2 resources"]',
        '  topics["topics<br/>1 resources"]',
        '  alarms["alarms<br/>1 resources"]',
        "  root -.- topics",
        "  root -.- alarms",
        '  topics -->|"TopicArn"| alarms',
    ]


def test_manifest_lists_what_a_deploy_must_pass_to_the_root():
    manifest = json.loads(emit_tree(small_tree(), "test/dev", {}).files["manifest.json"])
    by_name = {p["name"]: p for p in manifest["root_parameters"]}
    assert by_name["Email"] == {"name": "Email", "required": True, "default": None,
                                "description": "who to tell"}
    assert by_name["ArtifactBucket"]["required"] is False


def test_check_reports_a_stale_diagram(tmp_path, capsys):
    templates = tmp_path / "templates"
    assert build.main(["--no-lint"], templates_dir=templates) == 0
    diagram = tmp_path / "docs" / "stacks.md"
    assert diagram.read_text().startswith("# Stack trees")
    diagram.write_text("old\n")
    capsys.readouterr()
    assert build.main(["--check", "--no-lint"], templates_dir=templates) == 1
    assert "docs/stacks.md (differs)" in capsys.readouterr().err


def test_the_architecture_diagrams_are_written_and_checked(tmp_path, capsys):
    templates = tmp_path / "templates"
    assert build.main(["--no-lint"], templates_dir=templates) == 0
    drawn = tmp_path / "docs" / "architecture" / "distribution.md"
    assert "```mermaid" in drawn.read_text()
    drawn.write_text("old\n")
    capsys.readouterr()
    assert build.main(["--check", "--no-lint"], templates_dir=templates) == 1
    assert "docs/architecture/distribution.md (differs)" in capsys.readouterr().err
    assert build.main(["graph"], templates_dir=templates) == 0
    assert "wrote docs/architecture/distribution.md" in capsys.readouterr().out
    assert build.main(["--check", "--no-lint"], templates_dir=templates) == 0
