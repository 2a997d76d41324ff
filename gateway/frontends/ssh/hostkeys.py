"""
The server's SSH host keys: created on first start, loaded and checked on
every start (both before the reactor runs), fingerprints logged.
"""

import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from twisted.conch.ssh.keys import BadKeyError, EncryptedKeyError, Key
from twisted.logger import Logger

from gateway.auth.sshkeys import fingerprint
from gateway.errors import StartupError

log = Logger()


@dataclass(frozen=True)
class HostKeyKind:
    """
    One kind of host key the server offers.

    @ivar option: the listener option naming its file.
    @ivar file_name: its default file name in the data directory.
    @ivar ssh_type: the key type as SSH names it.
    @ivar generate: makes a new private key (a L{cryptography} object).
    """

    option: str
    file_name: str
    ssh_type: bytes
    generate: object


KINDS = (
    HostKeyKind("host_key_ed25519", "ssh_host_ed25519_key", b"ssh-ed25519", ed25519.Ed25519PrivateKey.generate),
    HostKeyKind(
        "host_key_ecdsa", "ssh_host_ecdsa_key", b"ecdsa-sha2-nistp256",
        lambda: ec.generate_private_key(ec.SECP256R1()),
    ),
    HostKeyKind(
        "host_key_rsa", "ssh_host_rsa_key", b"ssh-rsa",
        lambda: rsa.generate_private_key(public_exponent=65537, key_size=3072),
    ),
)


def create_host_key(path, kind):
    """
    Write a new private key of C{kind} to C{path} in OpenSSH format, readable
    by the owner only.  Fails rather than overwrite an existing file.

    @raise StartupError: naming the file when it cannot be written.
    """
    data = kind.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError as e:
        raise StartupError(f"{path}: cannot create the SSH host key: {e.strerror}")
    log.info("Created SSH host key {path}", path=str(path))


def load_host_key(path, kind):
    """
    Read and check the private key of C{kind} in C{path}.

    @raise StartupError: naming the file when it is unreadable, readable by
        others, not an unencrypted private key, or of another kind.
    @rtype: L{Key}
    """
    try:
        mode = os.stat(path).st_mode
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise StartupError(f"{path}: cannot read the SSH host key: {e.strerror}")
    if mode & 0o077:
        raise StartupError(f"{path}: the SSH host key is readable by other users; run: chmod 600 {path}")
    try:
        key = Key.fromString(data)
    except EncryptedKeyError:
        raise StartupError(f"{path}: the SSH host key is encrypted; host keys must have no passphrase")
    except (BadKeyError, ValueError, TypeError) as e:
        raise StartupError(f"{path}: not a valid SSH private key ({e})")
    if key.isPublic():
        raise StartupError(f"{path}: holds a public key; the SSH host key file must hold the private key")
    if key.sshType() != kind.ssh_type:
        raise StartupError(
            f"{path}: holds a {key.sshType().decode('ascii')} key, "
            f"but {kind.option} must be {kind.ssh_type.decode('ascii')}"
        )
    return key


def host_keys(paths):
    """
    Load the host keys, creating the missing ones, and log their
    fingerprints.

    @param paths: L{HostKeyKind} to the L{pathlib.Path} of its file.
    @raise StartupError: naming a file that cannot be used.
    @return: SSH key type to private L{Key}.
    @rtype: L{dict}
    """
    for kind, path in paths.items():
        if not path.exists():
            create_host_key(path, kind)
    return load_host_keys(paths)


def load_host_keys(paths):
    """
    Load the host keys, all of them or none, and log their fingerprints.

    @param paths: L{HostKeyKind} to the L{pathlib.Path} of its file.
    @raise StartupError: naming a file that cannot be used.
    @return: SSH key type to private L{Key}.
    @rtype: L{dict}
    """
    keys = {kind: load_host_key(path, kind) for kind, path in paths.items()}
    for kind, key in keys.items():
        log.info(
            "SSH host key {path}: {type} {size} {fingerprint}",
            path=str(paths[kind]), type=kind.ssh_type.decode("ascii"), size=key.size(),
            fingerprint=fingerprint(key.public().blob()),
        )
    return {kind.ssh_type: key for kind, key in keys.items()}
