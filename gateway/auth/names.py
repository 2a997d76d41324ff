"""
The rules account names follow.
"""

import re

from gateway.errors import InvalidName

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


def check_name(name, min_length, max_length):
    """
    Check a proposed account name.

    Names start with an ASCII letter and go on with letters, digits, C{_}
    or C{-}; ASCII only, so no two names can look alike in different
    scripts.  Uniqueness is case-insensitive and enforced by the store.

    @raise InvalidName: with a message for the player.
    @return: the name, unchanged.
    """
    if not min_length <= len(name) <= max_length:
        raise InvalidName(f"Names are {min_length} to {max_length} characters long.")
    if not _NAME.match(name):
        raise InvalidName("Names start with a letter and use only letters, digits, '_' and '-'.")
    return name
