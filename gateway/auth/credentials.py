"""
Credentials the core presents to the portal beyond Twisted's own.
"""

from zope.interface import Attribute, Interface, implementer


class INewAccount(Interface):
    """
    A request to create an account and log into it.
    """

    username = Attribute("The chosen name (L{str}).")
    password = Attribute("The chosen password (L{str}).")


@implementer(INewAccount)
class NewAccount:
    """
    The name and password a player chose at sign-up.
    """

    def __init__(self, username, password):
        self.username = username
        self.password = password


class ICertificateFingerprint(Interface):
    """
    The SHA-256 fingerprint of the certificate a TLS client presented.
    """

    fingerprint = Attribute("The fingerprint in canonical form (L{str}).")


@implementer(ICertificateFingerprint)
class CertificateFingerprint:
    """
    A client certificate's fingerprint, as credentials.
    """

    def __init__(self, fingerprint):
        self.fingerprint = fingerprint
