"""
Managing one's own account: C{password}.
"""

from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin

from gateway.core.commands import Command
from gateway.core.login import BUSY
from gateway.errors import CommandError, HashingBusy
from gateway.interfaces import IAccount


async def password(session, args):
    if args:
        raise CommandError("Usage: password (you will be asked for the old and new passwords)")
    core = session.core
    name = session.account.name
    current = await session.ask("Current password: ", echo=False)
    try:
        await core.portal.login(UsernamePassword(name, current), None, IAccount)
    except UnauthorizedLogin:
        raise CommandError("That is not your current password; nothing was changed.")
    except HashingBusy:
        raise CommandError(BUSY + " Nothing was changed.")
    minimum = core.settings.accounts.password_min_length
    new = await session.ask(f"New password (at least {minimum} characters): ", echo=False)
    if len(new) < minimum:
        raise CommandError(f"That password is too short (at least {minimum} characters); nothing was changed.")
    if await session.ask("Repeat the new password: ", echo=False) != new:
        raise CommandError("The passwords do not match; nothing was changed.")
    try:
        new_hash = await core.hasher.hash(new)
    except HashingBusy:
        raise CommandError(BUSY + " Nothing was changed.")
    await core.store.set_password_hash(session.account.id, new_hash)
    session.send("Your password has been changed.")


COMMANDS = (Command("password", password, "password", "Change your password."),)
