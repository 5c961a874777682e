"""Linting a batch: the same findings and cache entries as linting one by one, in parallel."""

from __future__ import annotations

from troposphere import cloudformation, logs, sns

from tap import lint
from tap.lint import Linter
from tap.stacktree import Stack


def templates() -> list[tuple[str, bytes, str]]:
    bad = Stack.root("root", "a log group without deletion policies")
    bad.add(logs.LogGroup("AppLogs", RetentionInDays=7))
    clean = Stack.root("root", "clean")
    clean.add(sns.Topic("Topic"))
    return [("bad.json", bad.body, bad.sha256), ("clean.json", clean.body, clean.sha256),
            ("bad-again.json", bad.body, bad.sha256)]


def test_a_batch_in_worker_processes_finds_what_one_by_one_finds(tmp_path, monkeypatch):
    monkeypatch.setattr(lint, "PARALLEL_FROM", 1)
    batch = templates()
    one_by_one = [Linter("us-east-1", cache_dir=None).lint(*item) for item in batch]
    parallel = Linter("us-east-1", cache_dir=tmp_path, workers=2)
    assert parallel.lint_many(batch) == one_by_one
    # cfn-lint's I3011 and the project's E9001: no DeletionPolicy, no UpdateReplacePolicy
    assert sorted(finding.rule for finding in one_by_one[0]) == ["E9001", "E9001", "I3011", "I3011"]
    assert one_by_one[1] == []
    assert (parallel.hits, parallel.misses) == (0, 2)  # the repeated template is linted once


def test_a_batch_reads_and_fills_the_cache(tmp_path):
    batch = templates()
    first = Linter("us-east-1", cache_dir=tmp_path, workers=1)
    findings = first.lint_many(batch)
    second = Linter("us-east-1", cache_dir=tmp_path, workers=2)
    assert second.lint_many(batch) == findings
    assert (second.hits, second.misses) == (2, 0)
    assert second._runner is None  # cfn-lint never loaded


def parent_naming(child_digest: str, *, clean: bool) -> tuple[str, bytes, str]:
    """A root whose nested stack's TemplateURL names its child's bytes by `child_digest`."""
    root = Stack.root("root", "a parent")
    url = f"https://bucket.s3.amazonaws.com/templates/services-027-{child_digest}.json"
    root.add(cloudformation.Stack("Services027Stack", TemplateURL=url,
                                  **({"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"} if clean else {})))
    if not clean:
        root.add(logs.LogGroup("AppLogs", RetentionInDays=7))
    return "templates/microservices/dev/root.template.json", root.body, root.sha256


def test_a_parent_that_differs_only_in_a_childs_digest_is_not_linted_again(tmp_path):
    first = Linter("us-east-1", cache_dir=tmp_path, workers=1)
    assert first.lint_many([parent_naming("a" * 64, clean=True)]) == [[]]
    again = Linter("us-east-1", cache_dir=tmp_path, workers=1)
    assert again.lint_many([parent_naming("b" * 64, clean=True)]) == [[]]
    assert (again.hits, again.misses, again._runner) == (1, 0, None)


def test_findings_are_never_taken_from_another_childs_digest(tmp_path):
    first = Linter("us-east-1", cache_dir=tmp_path, workers=1)
    (findings,) = first.lint_many([parent_naming("a" * 64, clean=False)])
    assert findings
    again = Linter("us-east-1", cache_dir=tmp_path, workers=1)
    assert again.lint_many([parent_naming("b" * 64, clean=False)]) == [findings]
    assert again.misses == 1  # linted: only a clean result stands for other digests
