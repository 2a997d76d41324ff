"""
Reading the served certificate and key, and generating a development
certificate when none is configured.
"""

import datetime
import ipaddress
import os
import re
from dataclasses import dataclass
from typing import Tuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from OpenSSL import SSL, crypto

from gateway.auth.fingerprints import certificate_fingerprint
from gateway.errors import StartupError

#: File names of the development certificate in the data directory.
DEVELOPMENT_CA = "tls-dev-ca.pem"
DEVELOPMENT_CERTIFICATE = "tls-dev-cert.pem"
DEVELOPMENT_KEY = "tls-dev-key.pem"

#: How long a generated development certificate is valid.
DEVELOPMENT_VALIDITY = datetime.timedelta(days=365)

_PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


@dataclass(frozen=True)
class KeyPair:
    """
    A validated certificate chain and its private key.

    @ivar chain: L{OpenSSL.crypto.X509} certificates, the served one first.
    @ivar key: the L{OpenSSL.crypto.PKey}.
    @ivar fingerprint: the served certificate's SHA-256 fingerprint.
    @ivar expires: its C{notAfter} time as C{YYYY-MM-DD HH:MM:SS UTC}.
    """

    chain: Tuple[crypto.X509, ...]
    key: crypto.PKey
    fingerprint: str
    expires: str


def use_key_pair(context, chain, key):
    """
    Give a context its certificate chain and key.  pyOpenSSL 24.3 and later
    take (and prefer) cryptography objects; Debian 12's 23.0 only takes its
    own, and says so with a L{TypeError}.

    @type context: L{OpenSSL.SSL.Context}
    @param chain: L{OpenSSL.crypto.X509} certificates, the served one first.
    @type key: L{OpenSSL.crypto.PKey}
    @raise OpenSSL.SSL.Error: when the key does not belong to the certificate.
    """
    try:
        context.use_certificate(chain[0].to_cryptography())
    except TypeError:
        context.use_certificate(chain[0])
        context.use_privatekey(key)
        for extra in chain[1:]:
            context.add_extra_chain_cert(extra)
    else:
        context.use_privatekey(key.to_cryptography_key())
        for extra in chain[1:]:
            context.add_extra_chain_cert(extra.to_cryptography())
    context.check_privatekey()


def _read(path, what):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise StartupError(f"{path}: cannot read the TLS {what}: {e.strerror}")


def _moment(stamp):
    return datetime.datetime.strptime(stamp.decode("ascii"), "%Y%m%d%H%M%SZ")


def not_after(certificate):
    """
    A certificate's expiry time for people.

    @type certificate: L{OpenSSL.crypto.X509}
    @rtype: L{str}
    """
    return _moment(certificate.get_notAfter()).strftime("%Y-%m-%d %H:%M:%S UTC")


def not_yet_valid(certificate):
    """
    When a certificate's validity starts in the future, that start for
    people.

    @type certificate: L{OpenSSL.crypto.X509}
    @return: C{YYYY-MM-DD HH:MM:SS UTC}, or L{None} when the certificate's
        validity has started.
    """
    start = _moment(certificate.get_notBefore())
    if start <= datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None):
        return None
    return start.strftime("%Y-%m-%d %H:%M:%S UTC")


def load_key_pair(certificate_path, key_path):
    """
    Read and check a PEM certificate chain (such as Let's Encrypt's
    C{fullchain.pem}) and its PEM private key (C{privkey.pem}).

    @raise StartupError: naming the file when it is missing, unreadable,
        not PEM, expired, or when the key does not belong to the
        certificate.
    @rtype: L{KeyPair}
    """
    blocks = _PEM_CERTIFICATE.findall(_read(certificate_path, "certificate"))
    if not blocks:
        raise StartupError(f"{certificate_path}: no PEM certificate found (expected -----BEGIN CERTIFICATE-----)")
    try:
        chain = tuple(crypto.load_certificate(crypto.FILETYPE_PEM, block) for block in blocks)
    except crypto.Error as e:
        raise StartupError(f"{certificate_path}: not a valid PEM certificate: {openssl_reason(e)}")
    if chain[0].has_expired():
        raise StartupError(f"{certificate_path}: the certificate expired on {not_after(chain[0])}")
    key_data = _read(key_path, "key")
    try:
        key = crypto.load_privatekey(crypto.FILETYPE_PEM, key_data, passphrase=_no_passphrase)
    except (crypto.Error, ValueError, TypeError) as e:
        raise StartupError(f"{key_path}: not an unencrypted PEM private key: {openssl_reason(e)}")
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    try:
        use_key_pair(context, chain[:1], key)
    except SSL.Error:
        raise StartupError(f"{key_path}: this key does not belong to the certificate in {certificate_path}")
    return KeyPair(chain, key, certificate_fingerprint(chain[0]), not_after(chain[0]))


def _no_passphrase(*args):
    raise ValueError("the key is encrypted; gateway needs it without a passphrase")


def openssl_reason(error):
    """
    The most specific reason in an OpenSSL error, for one-line messages.

    @type error: L{Exception}
    @rtype: L{str}
    """
    if isinstance(error, (crypto.Error, SSL.Error)) and error.args and isinstance(error.args[0], list) and error.args[0]:
        return error.args[0][-1][-1] or "unknown error"
    return str(error) or type(error).__name__


def _names(host_name):
    names = [x509.DNSName("localhost")]
    addresses = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]
    try:
        address = ipaddress.ip_address(host_name)
    except ValueError:
        if host_name != "localhost":
            names.append(x509.DNSName(host_name))
    else:
        if address not in addresses:
            addresses.append(address)
    return names + [x509.IPAddress(a) for a in addresses]


def _write(path, data, mode):
    """
    Write a file atomically with the given mode (the key never exists with
    looser permissions, not even briefly).
    """
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)


def generate_development_certificate(directory, host_name, now=None):
    """
    Make a throw-away certificate authority and an ECDSA P-256 server
    certificate it signs, valid for C{localhost}, C{127.0.0.1}, C{::1} and
    C{host_name}.  The authority's key is discarded; clients verify the
    server against C{tls-dev-ca.pem}.

    @param directory: the data directory (a L{pathlib.Path}).
    @param now: the issue time (a timezone-aware L{datetime.datetime}).
    @return: C{(certificate path, key path, CA path)}.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"gateway development CA for {host_name}")])
    start, end = now - datetime.timedelta(minutes=5), now + DEVELOPMENT_VALIDITY
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host_name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(_names(host_name)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = (directory / DEVELOPMENT_CERTIFICATE, directory / DEVELOPMENT_KEY, directory / DEVELOPMENT_CA)
    pem = serialization.Encoding.PEM
    _write(paths[1], key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()), 0o600)
    _write(paths[0], certificate.public_bytes(pem), 0o644)
    _write(paths[2], ca.public_bytes(pem), 0o644)
    return paths


def covers(certificate, host_name):
    """
    Whether a generated certificate names C{host_name} and has not expired,
    so it can be used again.

    @type certificate: L{OpenSSL.crypto.X509}
    """
    if certificate.has_expired():
        return False
    try:
        names = certificate.to_cryptography().extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return set(names) >= set(_names(host_name))
