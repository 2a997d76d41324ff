"""
SSH user authentication against the shared portal, and what an
authenticated connection may do.
"""

import struct

from twisted.conch.avatar import ConchUser
from twisted.conch.interfaces import IConchUser
from twisted.conch.ssh.common import NS, getNS
from twisted.conch.ssh.connection import (
    MSG_CHANNEL_OPEN_FAILURE, OPEN_ADMINISTRATIVELY_PROHIBITED, OPEN_UNKNOWN_CHANNEL_TYPE, SSHConnection,
)
from twisted.conch.ssh.userauth import MSG_USERAUTH_BANNER, SSHUserAuthServer
from twisted.cred.credentials import ISSHPrivateKey, IUsernamePassword
from twisted.internet.defer import succeed
from twisted.logger import Logger

from gateway.frontends.addresses import describe
from gateway.frontends.ssh.session import SessionChannel
from gateway.interfaces import IAccount
from gateway.logtext import loggable


class Player(ConchUser):
    """
    The avatar of one authenticated SSH connection: it may open one
    C{session} channel and nothing else.

    @ivar server: the L{gateway.frontends.ssh.server.GatewaySSHFactory}.
    @ivar account: the L{IAccount}, or L{None} for the sign-up user.
    @ivar session_opened: whether the connection has opened its session.
    """

    def __init__(self, server, account):
        super().__init__()
        self.server = server
        self.account = account
        self.session_opened = False
        self.channelLookup[b"session"] = SessionChannel


class AccountPortal:
    """
    The shared L{Portal} as conch's userauth service sees it: logins ask it
    for the L{IAccount} avatar and get a L{Player} wrapped around it.  Only
    the password and public-key methods are offered.  When sign-up over SSH
    is on, the sign-up user name logs in with any password into the
    sign-up dialogue (and never into an account).
    """

    def __init__(self, portal, server):
        self._portal = portal
        self._server = server

    def listCredentialsInterfaces(self):
        return [i for i in self._portal.listCredentialsInterfaces() if i in (IUsernamePassword, ISSHPrivateKey)]

    def login(self, credentials, mind, *interfaces):
        settings = self._server.settings
        name = credentials.username.decode("utf-8", "replace")
        if (
            settings.new_accounts == "sign-up"
            and IUsernamePassword.providedBy(credentials)
            and name.lower() == settings.sign_up_user.lower()
        ):
            return succeed((IConchUser, Player(self._server, None), lambda: None))

        def logged_in(result):
            _, account, logout = result
            return IConchUser, Player(self._server, account), logout

        return self._portal.login(credentials, mind, IAccount).addCallback(logged_in)


class UserAuthService(SSHUserAuthServer):
    """
    C{ssh-userauth} with this listener's limits and clock, sending the
    listener's banner first and logging failed attempts with the peer's
    address (the way the telnet login does).  C{none} is never among the
    methods, so it always fails.

    The built-in hint for newcomers (where to sign up) is sent only after
    the first failed password: a player who logs in, or runs C{ssh host
    who} with a key, never gets it on standard error.
    """

    log = Logger()

    def serviceStarted(self):
        server = self.transport.factory
        # The transport's grace timer covers authentication; the service's
        # own timer (Twisted's default length) runs on the same clock and is
        # cancelled when the service stops.
        self.clock = server.clock
        # Twisted disconnects when the count of failures goes over this.
        self.attemptsBeforeDisconnect = server.settings.max_auth_attempts - 1
        super().serviceStarted()
        if server.banner:
            self._send_banner(server.banner)
        self._hint = server.hint

    def _send_banner(self, text):
        self.transport.sendPacket(MSG_USERAUTH_BANNER, NS(text.encode("utf-8")) + NS(b""))

    def ssh_USERAUTH_REQUEST(self, packet):
        failures = self.loginAttempts
        d = super().ssh_USERAUTH_REQUEST(packet)
        if d is not None:
            d.addCallback(self._log_failure, failures)
        return d

    def _log_failure(self, result, failures):
        if self.loginAttempts > failures:
            self.log.info(
                "Failed SSH {method} login for {name} from {peer}",
                method=loggable(self.method), name=loggable(self.user),
                peer=describe(self.transport.transport.getPeer()),
            )
            if self._hint and self.method == b"password":
                hint, self._hint = self._hint, ""
                self._send_banner(hint)
        return result


class ConnectionService(SSHConnection):
    """
    C{ssh-connection} that opens one C{session} channel per connection and
    refuses every other channel type (port forwarding, X11, agent) with a
    log line rather than a traceback.  Global requests (C{tcpip-forward})
    are refused by L{ConchUser.gotGlobalRequest}.
    """

    log = Logger()

    def ssh_CHANNEL_OPEN(self, packet):
        channel_type, rest = getNS(packet)
        avatar = self.transport.avatar
        if channel_type == b"session" and not avatar.session_opened:
            avatar.session_opened = True
            return super().ssh_CHANNEL_OPEN(packet)
        if channel_type == b"session":
            reason, text = OPEN_ADMINISTRATIVELY_PROHIBITED, b"one session per connection"
        else:
            reason, text = OPEN_UNKNOWN_CHANNEL_TYPE, b"only session channels are served"
        self.log.info(
            "Refused a '{type}' channel from {peer}",
            type=loggable(channel_type), peer=self.transport.transport.getPeer(),
        )
        (sender,) = struct.unpack(">L", rest[:4])
        self.transport.sendPacket(MSG_CHANNEL_OPEN_FAILURE, struct.pack(">2L", sender, reason) + NS(text) + NS(b""))
