"""The merchant's WeChat Pay credentials, read from one directory (``WECHATPAY_KEYS_DIR``).

A merchant holds an API private key (``apiclient_key.pem``) whose certificate serial WeChat Pay knows,
an APIv3 key (32 characters, the AES-256-GCM key of every notify) and WeChat Pay's *platform public
key* with its id (``pub_key.pem``), which verifies every answer and notify. Demo and test modes
generate a complete set once, including the platform's private key, which only the fake pay server
(:mod:`miniservice.devtools.fake_wechatpay`) reads: a real deployment never has that file.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

META = "merchant.json"
MERCHANT_KEY = "apiclient_key.pem"
PLATFORM_PUBLIC_KEY = "pub_key.pem"
FAKE_PLATFORM_KEY = "fake_platform_private_key.pem"  # demo/test only: the fake server signs with it


class PayKeysMissing(RuntimeError):
    """The keys directory is missing or incomplete: online payment stays off, nothing else breaks."""


@dataclass(frozen=True)
class PayKeys:
    mchid: str
    cert_serial_no: str
    private_key: str  # PEM
    apiv3_key: str
    platform_public_key: str  # PEM
    platform_public_key_id: str

    @classmethod
    def load(cls, directory: Path) -> PayKeys:
        try:
            meta = json.loads((directory / META).read_text())
            return cls(mchid=meta["mchid"], cert_serial_no=meta["cert_serial_no"],
                       private_key=(directory / MERCHANT_KEY).read_text(), apiv3_key=meta["apiv3_key"],
                       platform_public_key=(directory / PLATFORM_PUBLIC_KEY).read_text(),
                       platform_public_key_id=meta["platform_public_key_id"])
        except (OSError, KeyError, ValueError) as exc:
            raise PayKeysMissing(f"WeChat Pay keys in {directory} are incomplete: {exc}") from exc


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(private_key_pem: str) -> str:
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def generate_demo_keys(directory: Path) -> PayKeys:
    """A complete merchant + platform key set for the demo and the tests; kept if already there."""
    if (directory / META).exists():
        return PayKeys.load(directory)
    directory.mkdir(parents=True, exist_ok=True)
    merchant = _private_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    platform = _private_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    alphabet = string.ascii_letters + string.digits
    meta = {"mchid": "19" + "".join(secrets.choice(string.digits) for _ in range(8)),
            "cert_serial_no": secrets.token_hex(20).upper(),
            "apiv3_key": "".join(secrets.choice(alphabet) for _ in range(32)),
            "platform_public_key_id": "PUB_KEY_ID_" + secrets.token_hex(16).upper()}
    for name, content in ((MERCHANT_KEY, merchant), (FAKE_PLATFORM_KEY, platform),
                          (PLATFORM_PUBLIC_KEY, public_pem(platform)), (META, json.dumps(meta, indent=2))):
        path = directory / name
        path.write_text(content)
        path.chmod(0o600)
    return PayKeys.load(directory)
