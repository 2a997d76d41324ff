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
