"""What a deploy uploads: the committed templates of one folder and the function zips
built beside them, checked against `manifest.json`, then uploaded by content hash.

The templates in `templates/` are what people reviewed and committed, so a deploy
refuses a folder that differs from a fresh build (`python build.py --check`). Function
zips are not committed: they are rebuilt (deterministically), written to a
content-addressed cache, and each checked against the sha256 the manifest records.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.exceptions

from tap import names
from tap.build import Target, build_target
from tap.emit import stale_files, template_paths
from tap.errors import BuildError, UserError
from tap.package import FunctionPackager
from tap.stackmaker import StackMaker
from tap.systems import Tools

UPLOAD_WORKERS = 8
CONTENT_TYPES = {"template": "application/json", "function": "application/zip"}
# What S3 answers a conditional create (If-None-Match: *) when the key was created meanwhile.
CREATED_MEANWHILE = ("PreconditionFailed", "ConditionalRequestConflict")


@dataclass(frozen=True)
class Artifact:
    kind: str
    s3_key: str
    sha256: str
    path: Path

    @property
    def checksum(self) -> str:
        """The sha256 as S3's ChecksumSHA256 header carries it (base64 of the digest)."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode("ascii")


@dataclass(frozen=True)
class Release:
    """One folder of `templates/`, current with the sources, every artefact on disk."""

    system: str
    env: str | None
    folder: Path
    manifest: dict[str, Any]
    artifacts: tuple[Artifact, ...]

    @property
    def root(self) -> Artifact:
        return next(a for a in self.artifacts if a.path.name == self.manifest["root"])

    @property
    def label(self) -> str:
        return f"templates/{self.system}" + (f"/{self.env}" if self.env else "")

    @property
    def region(self) -> str | None:
        return self.manifest.get("region")

    def template(self, file_name: str) -> dict[str, Any]:
        return json.loads((self.folder / file_name).read_bytes())

    def stack_paths(self) -> dict[tuple[str, ...], str]:
        """Each template file by its path of nested-stack logical ids from the root."""
        return template_paths(self.manifest)

    def templates_by_path(self) -> dict[tuple[str, ...], dict[str, Any]]:
        return {path: self.template(file) for path, file in self.stack_paths().items()}


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def prepare(
    system: str, env: str | None, config_dir: Path, templates_dir: Path, cache_dir: Path
) -> Release:
    """Check `templates/<system>/<env>/` is current and put every artefact on disk."""
    target = Target(system, env)
    # One process: a deploy may run threads (uploads, the local emulator), and forking a
    # process that holds threads can deadlock it.
    build_target(target, Tools(FunctionPackager(), StackMaker.default(workers=1)), config_dir)
    emission = target.emission
    assert emission is not None, "build_target sets the emission"
    stale = stale_files([emission], templates_dir)
    if stale:
        listing = "\n  ".join(stale)
        raise UserError(
            f"templates/{emission.folder} is stale: it differs from a fresh build of the "
            f"sources; run `python build.py` and commit the result\n  {listing}"
        )
    folder = templates_dir / emission.folder
    manifest = json.loads((folder / names.MANIFEST_FILE).read_bytes())
    zips = {asset.s3_key: asset.data for info in emission.templates for asset in info.stack.assets}
    artifacts = tuple(
        _artifact(entry, folder, cache_dir / "artifacts", zips) for entry in manifest["artifacts"]
    )
    return Release(system, env, folder, manifest, artifacts)


def _artifact(entry: dict[str, Any], folder: Path, zip_cache: Path, zips: dict[str, bytes]) -> Artifact:
    if entry["kind"] == "template":
        path = folder / entry["file"]
    else:
        path = zip_cache / entry["s3_key"]
        if not path.is_file() or sha256_of(path) != entry["sha256"]:
            _write_atomically(path, zips[entry["s3_key"]])
    actual = sha256_of(path)
    if actual != entry["sha256"]:
        raise BuildError(
            f"{path}: sha256 {actual} does not match {entry['sha256']} in {folder / names.MANIFEST_FILE}"
        )
    return Artifact(entry["kind"], entry["s3_key"], entry["sha256"], path)


def _write_atomically(path: Path, data: bytes) -> None:
    """Two deploys may fill the cache at once; neither ever reads a half-written zip."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


@dataclass(frozen=True)
class UploadSummary:
    uploaded: int
    skipped: int
    bytes_uploaded: int


def upload(
    s3: Any,
    bucket: str,
    artifacts: tuple[Artifact, ...],
    bucket_owner: str,
    on_each: Callable[[Artifact, bool], None] = lambda artifact, sent: None,
) -> UploadSummary:
    """Upload each artefact under its key, in parallel, skipping keys already holding
    the same bytes. `bucket_owner` makes S3 refuse a bucket someone else owns (names
    are global; a bucket named after our account could be anyone's)."""

    def one(artifact: Artifact) -> bool:
        stored = _stored_checksum(s3, bucket, artifact, bucket_owner)
        sent = stored != artifact.checksum and _put(s3, bucket, artifact, bucket_owner, absent=stored is None)
        on_each(artifact, sent)
        return sent

    with ThreadPoolExecutor(max_workers=UPLOAD_WORKERS) as pool:
        sent = list(pool.map(one, artifacts))
    return UploadSummary(
        uploaded=sum(sent),
        skipped=len(sent) - sum(sent),
        bytes_uploaded=sum(a.path.stat().st_size for a, s in zip(artifacts, sent) if s),
    )


def _put(s3: Any, bucket: str, artifact: Artifact, bucket_owner: str, absent: bool) -> bool:
    """Put the artefact; False when another deploy put the same bytes first.

    A key found absent is written only while it is still absent (If-None-Match): the
    bootstrap's pull-request role may only create keys this way, so code under review
    can add artefacts but never overwrite one that a deploy is about to use."""
    def put(**condition: str) -> None:
        s3.put_object(
            Bucket=bucket, Key=artifact.s3_key, Body=artifact.path.read_bytes(),
            # S3 checks the bytes against this sha256 and keeps it for the next deploy's HEAD.
            ChecksumAlgorithm="SHA256", ChecksumSHA256=artifact.checksum,
            ContentType=CONTENT_TYPES[artifact.kind], ExpectedBucketOwner=bucket_owner, **condition,
        )

    if not absent:
        put()
        return True
    try:
        put(IfNoneMatch="*")
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] not in CREATED_MEANWHILE:
            raise
        if _stored_checksum(s3, bucket, artifact, bucket_owner) == artifact.checksum:
            return False
        put()  # other bytes arrived meanwhile: replace them (a deploy role may; a plan role may not)
    return True


def _stored_checksum(s3: Any, bucket: str, artifact: Artifact, bucket_owner: str) -> str | None:
    """The sha256 S3 holds for the artefact's key ("" if it holds none), None when absent."""
    try:
        head = s3.head_object(
            Bucket=bucket, Key=artifact.s3_key, ChecksumMode="ENABLED", ExpectedBucketOwner=bucket_owner
        )
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return head.get("ChecksumSHA256", "")


def template_url(bucket: str, region: str, url_suffix: str, key: str) -> str:
    """The URL CloudFormation reads a template from; the same shape the nested
    TemplateURLs use (see tap.stacktree)."""
    return f"https://{bucket}.s3.{region}.{url_suffix}/{key}"
