"""CloudFront signed URLs for objects in the binaries bucket.

The URL is `https://{domain}{prefix}/{path}` with a canned policy that
expires after the configured TTL. `path` comes from the client, so it must
be a plain relative object key: it cannot climb out of the prefix, carry
control characters or smuggle a query string (it is percent-encoded).
"""

from datetime import datetime, timedelta
from urllib.parse import quote

from botocore.signers import CloudFrontSigner

MAX_PATH_BYTES = 1024  # S3's limit on an object key
_PATH_RULE = (
    "must be a relative object key: 1 to 1024 bytes of UTF-8, no leading '/', "
    "no empty, '.' or '..' segments, no backslash or control characters"
)


def object_path(value: object) -> str:
    """`value` when it is a safe relative object key; ValueError otherwise."""
    if not isinstance(value, str) or not value:
        raise ValueError(_PATH_RULE)
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(_PATH_RULE) from None
    unsafe_character = any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c == "\\" for c in value)
    bad_segment = any(segment in ("", ".", "..") for segment in value.split("/"))
    if size > MAX_PATH_BYTES or unsafe_character or bad_segment:
        raise ValueError(_PATH_RULE)
    return value


class DownloadSigner:
    def __init__(self, rsa_signer, key_id: str, domain: str, path_prefix: str, ttl_seconds: int):
        self._signer = CloudFrontSigner(key_id, rsa_signer)
        self._base = f"https://{domain}{path_prefix}/"
        self._ttl = timedelta(seconds=ttl_seconds)

    def url_for(self, path: str, moment: datetime) -> tuple[str, datetime]:
        """A URL for `path` (already checked by `object_path`) and the moment it stops working."""
        expires = moment + self._ttl
        url = self._base + quote(path, safe="/")
        return self._signer.generate_presigned_url(url, date_less_than=expires), expires
