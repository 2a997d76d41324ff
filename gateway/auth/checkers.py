"""
Credential checkers reading the account store.
"""

from twisted.cred.checkers import ICredentialsChecker
from twisted.cred.credentials import IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet import defer
from zope.interface import implementer

from gateway.auth.credentials import INewAccount
from gateway.auth.names import check_name


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


@implementer(ICredentialsChecker)
class PasswordChecker:
    """
    Checks a name and password against the store.  Unknown names and wrong
    passwords fail alike, after the same hashing work, so the answer does
    not tell whether the account exists.
    """

    credentialInterfaces = (IUsernamePassword,)

    def __init__(self, store, hasher):
        self._store = store
        self._hasher = hasher
        self._dummy_hash = None

    @defer.inlineCallbacks
    def requestAvatarId(self, credentials):
        name, password = _text(credentials.username), _text(credentials.password)
        record = yield self._store.account_by_name(name)
        if record is None:
            if self._dummy_hash is None:
                self._dummy_hash = yield self._hasher.hash("not a password")
            yield self._hasher.verify(self._dummy_hash, password)
            raise UnauthorizedLogin("wrong name or password")
        matches, new_hash = yield self._hasher.verify(record.password_hash, password)
        if not matches:
            raise UnauthorizedLogin("wrong name or password")
        if new_hash is not None:
            yield self._store.set_password_hash(record.id, new_hash)
        return record.id


@implementer(ICredentialsChecker)
class RegistrationChecker:
    """
    Creates the account named in L{INewAccount} credentials and answers with
    its id; refuses taken or invalid names.
    """

    credentialInterfaces = (INewAccount,)

    def __init__(self, store, hasher, settings, start_room):
        """
        @param settings: the L{gateway.config.AccountSettings}.
        @param start_room: where new accounts begin.
        """
        self._store = store
        self._hasher = hasher
        self._settings = settings
        self._start_room = start_room

    @defer.inlineCallbacks
    def requestAvatarId(self, credentials):
        name = check_name(credentials.username, self._settings.name_min_length, self._settings.name_max_length)
        password_hash = yield self._hasher.hash(credentials.password)
        account_id = yield self._store.create_account(name, password_hash, location=self._start_room)
        return account_id
