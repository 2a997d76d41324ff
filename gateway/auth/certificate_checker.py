"""
Logging in by client certificate: a fingerprint bound to an account with
C{cert add} is as good as that account's password.
"""

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.error import UnauthorizedLogin
from zope.interface import implementer

from gateway.auth.credentials import ICertificateFingerprint


@implementer(ICredentialsChecker)
class CertificateChecker:
    """
    Answers with the id of the account a certificate fingerprint is bound
    to, or refuses an unknown fingerprint.
    """

    credentialInterfaces = (ICertificateFingerprint,)

    def __init__(self, store):
        self._store = store

    def requestAvatarId(self, credentials):
        def found(account_id):
            if account_id is None:
                raise UnauthorizedLogin("this certificate is not bound to an account")
            return account_id

        return self._store.account_id_by_certificate(credentials.fingerprint).addCallback(found)
