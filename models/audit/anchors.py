"""The audit chain anchored outside the database (docs/rules.md §5).

Someone who can write the database can drop its guards, rewrite an event, rehash every
event after it and the head: the chain then verifies. An anchor is the chain's head —
its sequence number and hash — signed with an Ed25519 key kept outside the database and
appended to a file of its own. Each anchor also names the digest of the line before it,
so a line removed or changed from the middle of the file is found as well as a forged
signature. `audit verify` checks every anchor against the chain: an event's hash at an
anchored sequence number never changes, so the first anchor that no longer matches
names where the chain was rewritten.

What an anchor cannot do on one account: whoever holds both the database and the key
can re-sign. docs/operations.md says how a commission keeps them apart.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, select

from models.audit.chain import AuditEvent, AuditHead

_DOMAIN = b"leadflow-audit-anchor-v1\n"


@dataclass(frozen=True)
class Anchor:
    n: int  # its place in the file, from 1
    seq: int  # the chain's head when signed
    hash: str
    at: str  # when, UTC, ISO 8601
    key: str  # the signing key's public half, hex
    prev: str  # SHA-256 of the file's line before, "" for the first
    sig: str = ""

    def signed_text(self) -> bytes:
        fields = {k: v for k, v in asdict(self).items() if k != "sig"}
        return _DOMAIN + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def line(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class AnchorVerdict:
    anchors: int
    intact: bool
    anchor: int | None = None  # the first anchor that does not hold
    first_bad_event: int | None = None
    problem: str | None = None


def ensure_key(path: Path) -> bool:
    """Create the signing key at ``path`` (mode 0600) unless it exists; True if created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return True


def _private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 key")
    return key


def public_key(path: Path) -> str:
    return _private_key(path).public_key().public_bytes_raw().hex()


def read(path: Path) -> tuple[list[Anchor], AnchorVerdict | None]:
    """The anchors of the file at ``path``, and a verdict if a line is not an anchor."""
    if not path.exists():
        return [], None
    found: list[Anchor] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            found.append(Anchor(**json.loads(line)))
        except (ValueError, TypeError):
            return found, _broken(len(found), n, f"line {n} of {path} is not an anchor")
    return found, None


def _broken(checked: int, n: int, why: str) -> AnchorVerdict:
    return AnchorVerdict(checked, False, anchor=n, problem=why)


def sign_head(connection: Connection, *, key_path: Path, path: Path) -> Anchor:
    """Sign the chain's head now and append it to the anchors at ``path``."""
    key = _private_key(key_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND: each line lands at the end, never over an earlier one; the lock makes two
    # anchors signed at once (an escalation run, the schedule) follow one another.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        signed = _next(connection, key, read(path)[0])
        handle.write(signed.line() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return signed


def _next(connection: Connection, key: Ed25519PrivateKey, anchors: list[Anchor]) -> Anchor:
    head = connection.execute(select(AuditHead.seq, AuditHead.hash)).one()
    last = anchors[-1].line() if anchors else ""
    anchor = Anchor(
        n=len(anchors) + 1,
        seq=head.seq,
        hash=head.hash,
        at=datetime.now(UTC).isoformat(timespec="seconds"),
        key=key.public_key().public_bytes_raw().hex(),
        prev=hashlib.sha256(last.encode()).hexdigest() if last else "",
    )
    return Anchor(**{**asdict(anchor), "sig": key.sign(anchor.signed_text()).hex()})


def check(connection: Connection, anchors: list[Anchor], trusted_key: str) -> AnchorVerdict:
    """Every anchor's signature under ``trusted_key``, and the chain's event at each
    anchored sequence number still bearing the anchored hash."""
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(trusted_key))
    anchored = select(AuditEvent.seq, AuditEvent.hash).where(
        AuditEvent.seq.in_({a.seq for a in anchors})
    )
    held = {seq: digest for seq, digest in connection.execute(anchored)}
    last_good, prev = 0, ""
    for n, anchor in enumerate(anchors, start=1):
        try:
            if anchor.key != trusted_key:
                raise InvalidSignature
            public.verify(bytes.fromhex(anchor.sig), anchor.signed_text())
        except (InvalidSignature, ValueError):
            why = f"anchor {n} (event {anchor.seq}, {anchor.at}): its signature fails"
            return AnchorVerdict(len(anchors), False, n, None, why)
        if (anchor.n, anchor.prev) != (n, prev):
            why = f"anchor {n} does not follow the one before it (a line removed or changed)"
            return AnchorVerdict(len(anchors), False, n, None, why)
        prev = hashlib.sha256(anchor.line().encode()).hexdigest()
        if anchor.seq and held.get(anchor.seq) != anchor.hash:
            why = (
                f"the chain no longer matches anchor {anchor.n} (event {anchor.seq}, signed "
                f"{anchor.at}): it was rewritten after event {last_good}, the last anchored "
                "event that still matches"
            )
            return AnchorVerdict(len(anchors), False, anchor.n, last_good + 1, why)
        last_good = anchor.seq
    return AnchorVerdict(len(anchors), True)
