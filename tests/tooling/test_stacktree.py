"""The stack tree: parameters, outputs, and hash-carrying TemplateURLs and S3Keys."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from troposphere import Ref, sns

from tap.blocks.functions import python_function
from tap.emit import emit_tree
from tap.package import package_function
from tap.stacktree import Stack
from tests.helpers import as_dict, only_resource


def make_function_dir(root: Path, name: str, body: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "handler.py").write_text(body)
    return root


def three_level_tree(topic_name: str = "alerts", code: str = "def handler(e, c): return 1\n",
                     functions_dir: Path | None = None) -> dict[str, Stack]:
    """root -> middle -> leaf, with a function in `middle` when `functions_dir` is given."""
    root = Stack.root("root", "test root")
    middle = Stack("middle", "test middle")
    leaf = Stack("leaf", "test leaf")
    leaf.add(sns.Topic("Topic", TopicName=topic_name))
    leaf.output("TopicArn", Ref("Topic"), "the topic")
    if functions_dir is not None:
        make_function_dir(functions_dir, "worker", code)
        python_function(
            middle, "Worker", package_function("worker", functions_dir=functions_dir),
            description="worker", log_retention_days=7,
        )
    nested_leaf = middle.nest(leaf)
    middle.output("TopicArn", nested_leaf.output("TopicArn"), "the topic")
    root.nest(middle)
    return {"root": root, "middle": middle, "leaf": leaf}


def template_url(parent: Stack, logical_id: str) -> dict:
    return as_dict(parent)["Resources"][logical_id]["Properties"]["TemplateURL"]


def test_template_url_is_built_from_the_bucket_parameter_and_the_child_hash():
    tree = three_level_tree()
    leaf = tree["leaf"]
    url = template_url(tree["middle"], "LeafStack")
    expected_key = f"templates/leaf-{hashlib.sha256(leaf.body).hexdigest()}.json"
    assert url == {
        "Fn::Sub": [
            "https://${Bucket}.s3.${AWS::Region}.${AWS::URLSuffix}/" + expected_key,
            {"Bucket": {"Ref": "ArtifactBucket"}},
        ]
    }


def test_root_resolves_the_bucket_from_parameters_or_the_bootstrap_convention():
    root = as_dict(three_level_tree()["root"])
    bucket = root["Resources"]["MiddleStack"]["Properties"]["Parameters"]["ArtifactBucket"]
    assert bucket == {
        "Fn::If": [
            "ArtifactBucketGiven",
            {"Ref": "ArtifactBucket"},
            {"Fn::Sub": ["tap-assets-${Account}-${AWS::Region}", {"Account": {
                "Fn::If": ["ArtifactAccountGiven", {"Ref": "ArtifactAccount"}, {"Ref": "AWS::AccountId"}]
            }}]},
        ]
    }
    assert root["Parameters"]["ArtifactBucket"]["Default"] == ""


def test_a_nested_stack_that_holds_children_receives_the_bucket_as_a_parameter():
    middle = as_dict(three_level_tree()["middle"])
    assert "ArtifactBucket" in middle["Parameters"]
    assert "Default" not in middle["Parameters"]["ArtifactBucket"]


def test_a_leaf_without_artefacts_takes_no_bucket_parameter():
    assert "Parameters" not in as_dict(three_level_tree()["leaf"])


def test_outputs_are_read_back_with_getatt_outputs():
    middle = as_dict(three_level_tree()["middle"])
    assert middle["Outputs"]["TopicArn"]["Value"] == {"Fn::GetAtt": ["LeafStack", "Outputs.TopicArn"]}


def test_changing_a_leaf_changes_its_key_and_every_reference_up_the_chain_only():
    before = three_level_tree("alerts")
    after = three_level_tree("alarms")
    assert before["leaf"].s3_key != after["leaf"].s3_key
    assert template_url(before["middle"], "LeafStack") != template_url(after["middle"], "LeafStack")
    # The middle template differs only by the leaf's TemplateURL ...
    old_middle, new_middle = as_dict(before["middle"]), as_dict(after["middle"])
    new_middle["Resources"]["LeafStack"]["Properties"]["TemplateURL"] = (
        old_middle["Resources"]["LeafStack"]["Properties"]["TemplateURL"]
    )
    assert old_middle == new_middle
    # ... which changes the middle's own key, and so the root's reference to it.
    assert before["middle"].s3_key != after["middle"].s3_key
    old_root, new_root = as_dict(before["root"]), as_dict(after["root"])
    new_root["Resources"]["MiddleStack"]["Properties"]["TemplateURL"] = (
        old_root["Resources"]["MiddleStack"]["Properties"]["TemplateURL"]
    )
    assert old_root == new_root


def test_changing_function_code_changes_only_its_s3_key_and_the_chain_above(tmp_path):
    before = three_level_tree(code="def handler(e, c): return 1\n", functions_dir=tmp_path / "a")
    after = three_level_tree(code="def handler(e, c): return 2\n", functions_dir=tmp_path / "b")
    assert before["leaf"].body == after["leaf"].body
    old, new = as_dict(before["middle"]), as_dict(after["middle"])
    old_key = old["Resources"]["Worker"]["Properties"]["Code"]["S3Key"]
    new_key = new["Resources"]["Worker"]["Properties"]["Code"]["S3Key"]
    assert old_key != new_key
    assert old_key.startswith("functions/worker-") and old_key.endswith(".zip")
    assert json.dumps(old).replace(old_key, new_key) == json.dumps(new)
    assert before["root"].body != after["root"].body


def test_function_s3_key_carries_the_sha256_of_the_zip(tmp_path):
    tree = three_level_tree(functions_dir=tmp_path)
    (asset,) = tree["middle"].assets
    code = as_dict(tree["middle"])["Resources"]["Worker"]["Properties"]["Code"]
    assert code == {
        "S3Bucket": {"Ref": "ArtifactBucket"},
        "S3Key": f"functions/worker-{hashlib.sha256(asset.data).hexdigest()}.zip",
    }


def test_required_parameter_not_passed_is_a_build_error():
    root = Stack.root("root", "r")
    child = Stack("child", "c")
    child.parameter("VpcId")
    child.add(sns.Topic("Topic", DisplayName=Ref("VpcId")))
    root.nest(child)
    with pytest.raises(ValueError, match=r"missing \['VpcId'\]"):
        root.body


def test_reading_an_output_the_child_does_not_declare_fails_at_build_time():
    root = Stack.root("root", "r")
    child = Stack("child", "c")
    child.add(sns.Topic("Topic"))
    nested = root.nest(child)
    with pytest.raises(KeyError, match="has no output 'TopicArn'"):
        nested.output("TopicArn")


def test_a_stack_name_used_twice_in_a_tree_is_rejected():
    root = Stack.root("root", "r")
    root.nest(Stack("child", "c"))
    with pytest.raises(ValueError, match="used twice"):
        root.nest(Stack("child", "c"))


def test_a_rendered_stack_cannot_change():
    tree = three_level_tree()
    tree["root"].body
    with pytest.raises(RuntimeError, match="already rendered"):
        tree["leaf"].add(sns.Topic("Late"))


def test_nested_stack_resources_state_their_deletion_policies():
    root = as_dict(three_level_tree()["root"])
    middle = root["Resources"]["MiddleStack"]
    assert middle["DeletionPolicy"] == "Delete" and middle["UpdateReplacePolicy"] == "Delete"


def test_tree_tags_are_put_on_every_nested_stack():
    root = Stack.root("root", "r", tags={"project": "tap"})
    child = Stack("child", "c")
    child.add(sns.Topic("Topic"))
    root.nest(child)
    resource = only_resource(as_dict(root), "AWS::CloudFormation::Stack")
    assert resource["Properties"]["Tags"] == [{"Key": "project", "Value": "tap"}]


def test_manifest_lists_every_template_and_artefact(tmp_path):
    tree = three_level_tree(functions_dir=tmp_path)
    emission = emit_tree(tree["root"], "test/dev", {"system": "test"})
    manifest = json.loads(emission.files["manifest.json"])
    assert [t["file"] for t in manifest["templates"]] == [
        "root.template.json", "middle.template.json", "leaf.template.json"
    ]
    leaf = manifest["templates"][2]
    assert leaf["parent"] == "middle.template.json" and leaf["logical_id"] == "LeafStack"
    assert leaf["sha256"] == hashlib.sha256(emission.files["leaf.template.json"]).hexdigest()
    assert leaf["bytes"] == len(emission.files["leaf.template.json"])
    assert (leaf["resources"], leaf["parameters"], leaf["outputs"]) == (1, 0, 1)
    kinds = sorted((a["kind"], a["s3_key"].split("-")[0]) for a in manifest["artifacts"])
    assert kinds == [
        ("function", "functions/worker"),
        ("template", "templates/leaf"),
        ("template", "templates/middle"),
        ("template", "templates/root"),
    ]
