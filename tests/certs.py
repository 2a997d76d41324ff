"""
Certificates for tests: self-signed client certificates, expired ones, and
server key pairs written to files.
"""

import datetime
import functools

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import rsa as rsa_keys
from cryptography.x509.oid import NameOID
from OpenSSL import crypto


@functools.lru_cache(maxsize=None)
def rsa_key():
    """
    One RSA 2048 key for the whole run: generating RSA keys is slow, and
    what the tests check is the kind of key, not its size or uniqueness.
    """
    return rsa_keys.generate_private_key(65537, 2048)


def self_signed(name="client", days=30, expired=False, rsa=False, future=False):
    """
    A self-signed ECDSA P-256 certificate, or an RSA 2048 one on the key
    of L{rsa_key}.

    @param expired: make one whose validity ended yesterday.
    @param future: make one whose validity starts tomorrow.
    @return: C{(certificate PEM, key PEM)} as L{bytes}.
    """
    key = rsa_key() if rsa else ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    if expired:
        start, end = now - datetime.timedelta(days=days + 1), now - datetime.timedelta(days=1)
    elif future:
        start, end = now + datetime.timedelta(days=1), now + datetime.timedelta(days=days)
    else:
        start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return (
        certificate.public_bytes(pem),
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def x509_of(pem):
    """
    The L{OpenSSL.crypto.X509} of a PEM certificate.
    """
    return crypto.load_certificate(crypto.FILETYPE_PEM, pem)


def common_name(certificate):
    """
    The common name in a certificate's subject.

    @type certificate: L{OpenSSL.crypto.X509}
    @rtype: L{str}
    """
    return certificate.to_cryptography().subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def write_pair(directory, name="server", expired=False, rsa=False):
    """
    Write a self-signed certificate and key into C{directory} (a
    L{pathlib.Path}).

    @return: C{(certificate path, key path)}.
    """
    certificate, key = self_signed(name, expired=expired, rsa=rsa)
    paths = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    paths[0].write_bytes(certificate)
    paths[1].write_bytes(key)
    return paths
