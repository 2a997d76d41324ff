"""
The login dialogue every line-based frontend shares: a name, then the
password of an existing account or a new password chosen twice.
"""

from twisted.cred.credentials import UsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.logger import Logger

from gateway.auth.credentials import NewAccount
from gateway.auth.names import check_name
from gateway.core.throttle import describe_wait
from gateway.errors import HashingBusy, InvalidName, NameTaken
from gateway.interfaces import IAccount
from gateway.logtext import loggable

log = Logger()

#: What a player is told when the password hashing queue is full.
BUSY = "The server is busy; please try again."


async def login_dialogue(session):
    """
    Ask for a name and log the session in, creating the account when the
    name is new.  Wrong passwords count against C{login.max_attempts}; the
    connection is closed when they run out.

    @return: the L{IAccount} avatar, or L{None} when the session was closed.
    """
    core = session.core
    settings = core.settings
    session.send(settings.server.banner.format(name=settings.server.name))
    while True:
        name = (await session.ask("Name: ")).strip()
        if not name:
            continue
        try:
            check_name(name, settings.accounts.name_min_length, settings.accounts.name_max_length)
        except InvalidName as e:
            session.send(str(e))
            continue
        record = await core.store.account_by_name(name)
        if record is None:
            account = await _sign_up(session, name)
            if account is not None:
                return account
            continue
        account = await _check_password(session, name)
        if account is not None:
            return account
        session.close("Too many failed attempts. Goodbye.")
        return None


async def _check_password(session, name):
    """
    Ask for the password of the existing account C{name}, up to
    C{login.max_attempts} times.  After failures (from this address or
    for this account, on any connection) each attempt first waits the
    delay L{gateway.core.throttle.LoginGuard} sets, and the player is told
    how long; the wait runs on the clock and blocks nothing else.

    @return: the avatar, or L{None} when every attempt failed.
    """
    core = session.core
    host = session.capabilities.host
    failures = 0
    while failures < core.settings.login.max_attempts:
        wait = core.guard.login_wait(host, name)
        if wait:
            core.metrics.throttled(wait)
            session.send(f"Too many failed logins; please wait {describe_wait(wait)}.")
            await session.sleep(wait)
        password = await session.ask("Password: ", echo=False)
        core.guard.login_attempted(host, name)
        try:
            _, account, _ = await core.portal.login(UsernamePassword(name, password), None, IAccount)
        except HashingBusy:
            core.guard.login_not_checked(host, name)
            core.metrics.login("busy")
            session.send(BUSY)
            continue
        except UnauthorizedLogin:
            log.info("Failed login for {name} from {peer}", name=loggable(name), peer=session.capabilities.peer)
            core.metrics.login("failed")
            failures += 1
            if failures < core.settings.login.max_attempts:
                session.send("Wrong password.")
                session.send_data("Char.Login.Result", {"success": False, "message": "Wrong password."})
            continue
        core.guard.login_succeeded(host, name)
        core.metrics.login("ok")
        return account
    return None


async def _sign_up(session, name):
    """
    Create the account C{name}, asking for its password twice.

    @return: the new account's avatar, or L{None} to start over with a name.
    """
    core = session.core
    settings = core.settings
    if not settings.accounts.allow_registration:
        core.metrics.signup("closed")
        session.send(f"There is no account called {name}, and new accounts are not being created here.")
        return None
    host = session.capabilities.host
    wait = core.guard.creation_wait(host)
    if wait:
        core.metrics.signup("refused")
        session.send(
            f"Too many accounts have been created from your address; try again in {describe_wait(wait)}."
        )
        return None
    answer = (await session.ask(f"There is no account called {name}. Create it? (yes/no) ")).strip().lower()
    if answer not in ("y", "yes"):
        return None
    minimum = settings.accounts.password_min_length
    while True:
        password = await session.ask(f"Choose a password (at least {minimum} characters): ", echo=False)
        if len(password) < minimum:
            session.send(f"That password is too short; use at least {minimum} characters.")
            continue
        repeated = await session.ask("Repeat the password: ", echo=False)
        if repeated == password:
            break
        session.send("The passwords do not match; try again.")
    try:
        _, account, _ = await core.portal.login(NewAccount(name, password), None, IAccount)
    except HashingBusy:
        core.metrics.signup("busy")
        session.send(BUSY)
        return None
    except NameTaken:
        core.metrics.signup("name_taken")
        session.send(f"Someone has just taken the name {name}; please choose another.")
        return None
    core.guard.created(host)
    core.metrics.signup("ok")
    log.info("Account {name} created from {peer}", name=account.name, peer=session.capabilities.peer)
    session.send(f"Welcome, {account.name}! Your account has been created.")
    return account
