"""
The SSH frontend, on L{twisted.conch}: password and public-key logins into
the shared accounts, a line-edited shell in the shared world, and C{exec}
for single commands.

Modules: L{hostkeys} (create, load and check host keys), L{server} (the
factory and transport: algorithms, version, grace time), L{auth} (userauth
against the shared portal, what a connection may open), L{session} (the
C{session} channel as a core session), L{editor} (the terminal line
editor).
"""

import re
from dataclasses import dataclass

from gateway.config import at_least, build_settings, positive, setting

_VERSION = re.compile(r"^SSH-2\.0-[\x21-\x2c\x2e-\x7e]+( [\x20-\x7e]*)?$")


def _version(value):
    if len(value) > 253 or not _VERSION.match(value):
        return "an SSH version line such as 'SSH-2.0-gateway' (printable ASCII, at most 253 characters)"


def _new_accounts(value):
    if value not in ("refuse", "sign-up"):
        return "'refuse' or 'sign-up'"


def _user_name(value):
    if not re.match(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$", value):
        return "a user name of letters, digits, '_' and '-', starting with a letter"


_BANNERS = {
    "refuse": "New here? Create an account first (for example with telnet to {host}), then log in here.\n",
    "sign-up": "New here? Log in as '{user}' with any password to create an account.\n",
}


@dataclass(frozen=True)
class SSHOptions:
    """
    The C{options} table of an SSH listener (documented in
    C{etc/gateway.toml}).
    """

    host_key_ed25519: str = setting("")
    host_key_ecdsa: str = setting("")
    host_key_rsa: str = setting("")
    version: str = setting("SSH-2.0-gateway", _version)
    nist_curves: bool = setting(False)
    max_auth_attempts: int = setting(6, at_least(1))
    login_grace_time: float = setting(60.0, positive)
    new_accounts: str = setting("refuse", _new_accounts)
    sign_up_user: str = setting("new", _user_name)
    banner: str = setting("")
    max_unsent_bytes: int = setting(262144, at_least(4096))


def host_key_paths(core, settings):
    """
    Where each host key lives: the configured path (relative to the
    configuration file), or its default name in the data directory.

    @param core: the listener's L{gateway.interfaces.IGatewayCore}.
    @param settings: the listener's L{SSHOptions}.
    @return: L{hostkeys.HostKeyKind} to L{pathlib.Path}.
    """
    from gateway.frontends.ssh.hostkeys import KINDS

    return {kind: core.file_path(getattr(settings, kind.option), kind.file_name) for kind in KINDS}


def build_factory(core, portal, options):
    """
    The protocol factory for an SSH listener (see
    L{gateway.interfaces.IFrontendPlugin.getFactory}).  Host keys are
    loaded, or created, here: at start-up, before the reactor runs.

    @raise gateway.errors.ConfigError: for bad options.
    @raise gateway.errors.StartupError: for an unusable host key file.
    """
    from gateway.frontends.ssh.hostkeys import host_keys
    from gateway.frontends.ssh.server import GatewaySSHFactory

    settings = build_settings(SSHOptions, options, "options")
    paths = host_key_paths(core, settings)
    keys = host_keys(paths)
    # The operator's banner goes to everyone before authentication; the
    # built-in one is a hint for newcomers, after a failed password.
    banner = (settings.banner or _BANNERS[settings.new_accounts]).format(
        host=core.status().host_name, user=settings.sign_up_user
    )
    if settings.banner:
        return GatewaySSHFactory(core, portal, settings, keys, core.clock, banner, host_key_paths=paths)
    return GatewaySSHFactory(core, portal, settings, keys, core.clock, "", banner, host_key_paths=paths)
