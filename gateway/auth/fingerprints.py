"""
SHA-256 certificate fingerprints: the identity of a TLS client certificate.

One form is used everywhere, the one C{openssl x509 -fingerprint -sha256}
prints: 32 upper-case hex pairs joined by colons.
"""

import re

_HEX = re.compile(r"^[0-9A-F]{64}$")


def normalize_fingerprint(text):
    """
    Bring a fingerprint a person typed or configured into the canonical
    form; colons, spaces, case and an C{sha256} / C{SHA256 Fingerprint=}
    prefix do not matter.

    @type text: L{str}
    @return: the canonical fingerprint, or L{None} when C{text} is not one.
    @rtype: L{str} or L{None}
    """
    text = text.strip().upper()
    for prefix in ("SHA256 FINGERPRINT=", "SHA256:", "SHA-256:"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    digits = re.sub(r"[\s:]", "", text)
    if not _HEX.match(digits):
        return None
    return ":".join(digits[i:i + 2] for i in range(0, 64, 2))


def certificate_fingerprint(certificate):
    """
    The canonical fingerprint of a certificate.

    @param certificate: an L{OpenSSL.crypto.X509}.
    @rtype: L{str}
    """
    return certificate.digest("sha256").decode("ascii")


def client_fingerprint(transport):
    """
    The fingerprint of the certificate the client on a TLS transport
    presented.

    @param transport: an L{twisted.internet.interfaces.ISSLTransport}.
    @return: the fingerprint, or C{""} when the client sent none (or was
        not asked for one).
    @rtype: L{str}
    """
    certificate = transport.getPeerCertificate()
    return certificate_fingerprint(certificate) if certificate is not None else ""
