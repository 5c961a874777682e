"""The CloudFront URL-signing key: a PEM RSA private key held in Secrets Manager.

Fetched on first use and kept for the life of the container, so only a cold
container pays for the Secrets Manager call. The secret may hold PKCS#1
(`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`); the `rsa` library
reads only PKCS#1, so PKCS#8 is unwrapped with pyasn1.
"""

import base64
import re

import rsa
from pyasn1.codec.der import decoder

RSA_ENCRYPTION_OID = "1.2.840.113549.1.1.1"
_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----(.+?)-----END \1-----", re.DOTALL)


class SigningKeyError(Exception):
    """The secret is not a usable key. The message never quotes the secret."""


def pkcs1_from_pkcs8(der: bytes) -> bytes:
    """The PKCS#1 RSAPrivateKey inside a PKCS#8 PrivateKeyInfo."""
    info, rest = decoder.decode(der)
    if rest or str(info[1][0]) != RSA_ENCRYPTION_OID:
        raise SigningKeyError("the PKCS#8 key is not an RSA key")
    return bytes(info[2])


def load_private_key(pem: str) -> rsa.PrivateKey:
    try:
        match = _PEM.search(pem)
        kind, der = match.group(1), base64.b64decode("".join(match.group(2).split()))
        if kind == "PRIVATE KEY":
            der = pkcs1_from_pkcs8(der)
        elif kind != "RSA PRIVATE KEY":
            raise SigningKeyError(f"unsupported PEM block {kind}")
        return rsa.PrivateKey.load_pkcs1(der, format="DER")
    except SigningKeyError:
        raise
    except Exception:  # parser messages can quote key bytes: say only what is wrong
        raise SigningKeyError("the secret is not a PEM RSA private key (PKCS#1 or PKCS#8)") from None


class SigningKeySource:
    def __init__(self, secrets_client, secret_arn: str):
        self._secrets = secrets_client
        self._secret_arn = secret_arn
        self._key: rsa.PrivateKey | None = None

    def key(self) -> rsa.PrivateKey:
        if self._key is None:  # a failed fetch is not remembered: the next request tries again
            secret = self._secrets.get_secret_value(SecretId=self._secret_arn)
            self._key = load_private_key(secret.get("SecretString") or "")
        return self._key

    def sign_sha1(self, message: bytes) -> bytes:
        """RSA-SHA1 (PKCS#1 v1.5), the only signature CloudFront accepts."""
        return rsa.sign(message, self.key(), "SHA-1")
