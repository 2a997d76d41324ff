"""
The realm: turns an authenticated account id into the player's avatar.
"""

from dataclasses import dataclass
from typing import Optional

from twisted.cred.error import UnauthorizedLogin
from twisted.cred.portal import IRealm
from twisted.logger import Logger
from zope.interface import implementer

from gateway.interfaces import IAccount


@implementer(IAccount)
@dataclass
class Account:
    """
    A logged-in player's account, as the core uses it.
    """

    id: int
    name: str
    role: str
    location: Optional[str]


@implementer(IRealm)
class Realm:
    """
    Loads the account from the store and stamps the login time.
    """

    log = Logger()

    def __init__(self, store):
        self._store = store

    def requestAvatar(self, avatarId, mind, *interfaces):
        if IAccount not in interfaces:
            raise NotImplementedError("gateway's realm only provides IAccount")

        def loaded(record):
            if record is None:
                raise UnauthorizedLogin("the account no longer exists")
            self._store.record_login(record.id).addErrback(
                lambda failure: self.log.failure("Could not record the login of {name}", failure, name=record.name)
            )
            account = Account(record.id, record.name, record.role, record.location)
            return IAccount, account, lambda: None

        return self._store.account_by_id(avatarId).addCallback(loaded)
