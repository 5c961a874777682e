"""Rules over a whole build that no single template can show.

What one template can show is a cfn-lint rule in src/tap/lintrules (E9001...),
run on every template by `python build.py` and by `cfn-lint`, and tested with
fixtures in tests/lintrules; `python build.py --check` (CI) lints every emitted
template with them. What is left here needs the nested tree.
"""

from __future__ import annotations


def test_every_bucket_is_covered_by_a_bucket_policy(built):
    """Per folder: a bucket's policy may live in another nested stack (wired by parameters).
    That each bucket policy denies plain HTTP is rule E9005."""
    for folder in built.targets:
        buckets, covered = set(), set()
        for stack, template in built.stacks(folder).items():
            for logical_id, resource in template.get("Resources", {}).items():
                if resource["Type"] == "AWS::S3::Bucket":
                    buckets.add((stack, logical_id))
                if resource["Type"] == "AWS::S3::BucketPolicy":
                    owner, bucket = built.resolve(folder, stack, resource["Properties"]["Bucket"])
                    covered.add((owner, bucket["Ref"]))
        assert buckets <= covered, f"{folder}: {sorted(buckets - covered)} have no bucket policy"

