"""
SSH public keys: parsing the lines players paste, OpenSSH-style
fingerprints, and the checker that logs a key in.
"""

import base64
import hashlib
from dataclasses import dataclass

from twisted.conch.error import ValidPublicKey
from twisted.conch.ssh.keys import BadKeyError, Key
from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import ISSHPrivateKey
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer
from zope.interface import implementer

#: Key types players may attach, and the smallest size accepted for each.
ACCEPTED_TYPES = {
    b"ssh-ed25519": 256,
    b"ecdsa-sha2-nistp256": 256,
    b"ecdsa-sha2-nistp384": 384,
    b"ecdsa-sha2-nistp521": 521,
    b"ssh-rsa": 2048,
}

MAX_COMMENT = 100


class BadPublicKey(ValueError):
    """
    A line is not an acceptable OpenSSH public key; the message says why.
    """


@dataclass(frozen=True)
class PublicKey:
    """
    A parsed public key line.

    @ivar key_type: e.g. C{"ssh-ed25519"}.
    @ivar blob: the key in SSH wire format.
    """

    key_type: str
    fingerprint: str
    blob: bytes
    comment: str


def fingerprint(blob):
    """
    The SHA-256 fingerprint of a public key the way OpenSSH prints it:
    C{"SHA256:"} and unpadded base64.

    @type blob: L{bytes}
    @rtype: L{str}
    """
    digest = base64.b64encode(hashlib.sha256(blob).digest()).rstrip(b"=")
    return "SHA256:" + digest.decode("ascii")


def parse_public_key(line):
    """
    Parse one OpenSSH public key line (C{"ssh-ed25519 AAAA... comment"}, as
    in C{~/.ssh/id_ed25519.pub}).

    @type line: L{str}
    @raise BadPublicKey: for anything else, with a message for the player.
    @rtype: L{PublicKey}
    """
    parts = line.strip().split(None, 2)
    if len(parts) < 2:
        raise BadPublicKey("Expected a public key line such as 'ssh-ed25519 AAAA... you@host' (the contents of a .pub file).")
    declared, data = parts[0], parts[1]
    comment = parts[2].strip() if len(parts) == 3 else ""
    if declared.encode("ascii", "replace") not in ACCEPTED_TYPES:
        raise BadPublicKey(
            f"Key type {declared[:40]!r} is not accepted; use one of: "
            + ", ".join(t.decode("ascii") for t in ACCEPTED_TYPES) + "."
        )
    try:
        blob = base64.b64decode(data.encode("ascii"), validate=True)
        key = Key.fromString(blob)
    except (ValueError, BadKeyError, UnicodeEncodeError):
        raise BadPublicKey("That key is damaged: its base64 part does not decode to a valid key.")
    if not key.isPublic():
        raise BadPublicKey("That is not a public key.")
    if key.sshType() != declared.encode("ascii"):
        raise BadPublicKey(f"The key says it is {declared} but holds a {key.sshType().decode('ascii')} key.")
    if key.size() < ACCEPTED_TYPES[key.sshType()]:
        raise BadPublicKey(f"That {declared} key has {key.size()} bits; at least {ACCEPTED_TYPES[key.sshType()]} are needed.")
    if len(comment) > MAX_COMMENT or not comment.isprintable():
        raise BadPublicKey(f"The comment must be printable and at most {MAX_COMMENT} characters.")
    return PublicKey(declared, fingerprint(blob), blob, comment)


@implementer(ICredentialsChecker)
class SSHKeyChecker:
    """
    Logs in an SSH user whose public key is attached to the account named
    in the credentials.  Without a signature (the client asking whether a
    key would do) it answers with L{ValidPublicKey} for an attached key, as
    L{twisted.conch.ssh.userauth} expects.  Unknown accounts and unknown
    keys fail alike.
    """

    credentialInterfaces = (ISSHPrivateKey,)

    def __init__(self, store):
        self._store = store

    @defer.inlineCallbacks
    def requestAvatarId(self, credentials):
        name = credentials.username.decode("utf-8", "replace")
        account_id = yield self._store.account_for_key(name, credentials.blob)
        if account_id is None:
            raise UnauthorizedLogin("wrong name or key")
        if credentials.signature is None:
            raise ValidPublicKey()
        try:
            verified = Key.fromString(credentials.blob).verify(credentials.signature, credentials.sigData)
        except BadKeyError:
            verified = False
        if not verified:
            raise UnauthorizedLogin("bad signature")
        return account_id
