"""
Exceptions the core raises, and the ones it expects from configuration and
start-up code.
"""


class GatewayError(Exception):
    """
    Base class of every exception gateway raises on purpose.
    """


class ConfigError(GatewayError):
    """
    The configuration is invalid.  The message names the file, the key and
    what was expected, so it can be shown to the operator as it is.
    """


class StartupError(GatewayError):
    """
    Something the daemon needs at start-up (a file, a port, a database) is
    unusable.  The message says which and why.
    """


class CommandError(GatewayError):
    """
    A command was used wrongly.  The message is shown to the player as one
    line; no traceback is logged.
    """


class NameTaken(GatewayError):
    """
    An account with that name (compared case-insensitively) already exists.
    """


class InvalidName(GatewayError):
    """
    A proposed account name breaks the naming rules; the message says which.
    """


class SessionClosed(GatewayError):
    """
    The session ended while something was waiting on it (for example an
    answer to a prompt).
    """


class CertificateTaken(GatewayError):
    """
    A client certificate fingerprint is already bound to another account.
    """


class HashingBusy(GatewayError):
    """
    Too many password checks and hashes are running or waiting; this one
    was not started.  The player is told the server is busy and to try
    again.
    """


class DuplicateKey(GatewayError):
    """
    The account already has this key.
    """


class TooManyKeys(GatewayError):
    """
    The account already has as many keys as allowed.
    """
