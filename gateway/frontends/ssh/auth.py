"""
SSH user authentication against the shared portal, and what an
authenticated connection may do.
"""

import struct

from twisted.conch.avatar import ConchUser
from twisted.conch.interfaces import IConchUser
from twisted.conch.ssh.common import NS, getNS
from twisted.conch.ssh.connection import (
    MSG_CHANNEL_FAILURE, MSG_CHANNEL_OPEN, MSG_CHANNEL_OPEN_FAILURE, MSG_CHANNEL_REQUEST, OPEN_ADMINISTRATIVELY_PROHIBITED,
    OPEN_UNKNOWN_CHANNEL_TYPE, SSHConnection,
)
from twisted.conch.ssh.userauth import MSG_USERAUTH_BANNER, SSHUserAuthServer
from twisted.cred.credentials import ISSHPrivateKey, IUsernamePassword
from twisted.cred.error import UnauthorizedLogin
from twisted.internet.defer import fail, succeed
from twisted.internet.task import deferLater
from twisted.logger import Logger

from gateway.core.login import BUSY
from gateway.core.throttle import describe_wait
from gateway.errors import HashingBusy
from gateway.frontends.addresses import describe, host_of
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
    methods, so it always fails, except on a core without gateway
    accounts (L{gateway.interfaces.IGatewayCore.accounts}: a game that runs
    its own login), where it is the only method and admits any user name.

    The count of failed attempts belongs to the connection
    (L{gateway.frontends.ssh.server.ServerTransport.auth_failures}): a
    client that requests C{ssh-userauth} again gets a new service object
    that carries on the same count.  Password and signed public-key
    attempts go through the core's L{gateway.core.throttle.LoginGuard}
    like every other frontend's logins: they wait out its delays (the
    client is told how long in a banner) and failures count against the
    address and the account.  One such check runs at a time per
    connection; requests pipelined behind it fail at once, unchecked.  When
    the hasher is busy the attempt fails with a banner saying so, and the
    throttle does not count it.

    The built-in hint for newcomers (where to sign up) is sent only after
    the first failed password: a player who logs in, or runs C{ssh host
    who} with a key, never gets it on standard error.
    """

    log = Logger()

    @property
    def loginAttempts(self):
        """
        The connection's count of failed attempts.  It only grows: Twisted
        sets it to 0 when a service starts, which must not wipe the count
        an earlier service of the same connection left.
        """
        return self.transport.auth_failures

    @loginAttempts.setter
    def loginAttempts(self, value):
        self.transport.auth_failures = max(value, self.transport.auth_failures)

    def serviceStarted(self):
        server = self.transport.factory
        # The transport's grace timer covers authentication; the service's
        # own timer (Twisted's default length) runs on the same clock and is
        # cancelled when the service stops.
        self.clock = server.clock
        # Twisted disconnects when the count of failures goes over this.
        self.attemptsBeforeDisconnect = server.settings.max_auth_attempts - 1
        super().serviceStarted()
        if not server.core.accounts:
            self.supportedAuthentications = [b"none"]
        if server.banner:
            self._send_banner(server.banner)
        self._hint = server.hint

    def auth_none(self, packet):
        """
        Admit the user without a password: only offered on a core whose
        game runs its own login.
        """
        return succeed((IConchUser, Player(self.transport.factory, None), lambda: None))

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

    def auth_password(self, packet):
        return self._guarded(super().auth_password, packet)

    def auth_publickey(self, packet):
        # A key offered without a signature only asks whether it would be
        # accepted; that checks nothing secret and is not throttled.
        if packet[:1] == b"\x00":
            return super().auth_publickey(packet)
        return self._guarded(super().auth_publickey, packet)

    def _guarded(self, check, packet):
        """
        Run C{check(packet)} under the login throttle, unless another check
        of this connection is still running.

        @return: a L{Deferred} of C{check}'s result.
        """
        transport = self.transport
        if transport.checking:
            return fail(UnauthorizedLogin("another login attempt of this connection is being checked"))
        transport.checking = True
        guard = transport.factory.core.guard
        metrics = transport.factory.core.metrics
        method = self.method.decode("ascii")
        host = host_of(transport.transport.getPeer())
        name = self.user.decode("utf-8", "replace")
        wait = guard.login_wait(host, name)
        if wait:
            metrics.throttled(wait)
            self._send_banner(f"Too many failed logins; please wait {describe_wait(wait)}.\n")
            d = deferLater(self.clock, wait, lambda: None)
        else:
            d = succeed(None)

        def attempt(_):
            guard.login_attempted(host, name)
            return check(packet)

        def succeeded(result):
            guard.login_succeeded(host, name)
            metrics.ssh_auth(method, "ok")
            return result

        def busy(reason):
            metrics.ssh_auth(method, "busy" if reason.check(HashingBusy) else "failed")
            reason.trap(HashingBusy)
            guard.login_not_checked(host, name)
            self._send_banner(BUSY + "\n")
            raise UnauthorizedLogin(BUSY)

        def finished(result):
            transport.checking = False
            return result

        return d.addCallback(attempt).addCallbacks(succeeded, busy).addBoth(finished)


class ConnectionService(SSHConnection):
    """
    C{ssh-connection} that opens one C{session} channel per connection and
    refuses every other channel type (port forwarding, X11, agent) with a
    log line rather than a traceback.  Global requests (C{tcpip-forward})
    are refused by L{ConchUser.gotGlobalRequest}.  Messages for a channel
    that is not open are ignored, and a channel request too short to read
    is answered with a failure, each with a log line.
    """

    log = Logger()

    #: The message numbers that start with the number of an open channel.
    CHANNEL_MESSAGES = range(MSG_CHANNEL_OPEN + 1, MSG_CHANNEL_FAILURE + 1)

    def packetReceived(self, messageNum, packet):
        if messageNum in self.CHANNEL_MESSAGES:
            if len(packet) < 4 or struct.unpack(">L", packet[:4])[0] not in self.channels:
                self._refused("a message for a channel that is not open")
                return
            if messageNum == MSG_CHANNEL_REQUEST and not self._readable_request(packet[4:]):
                channel = self.channels[struct.unpack(">L", packet[:4])[0]]
                self._refused("a channel request too short to read")
                self.transport.sendPacket(MSG_CHANNEL_FAILURE, struct.pack(">L", self.localToRemoteChannel[channel.id]))
                return
        super().packetReceived(messageNum, packet)

    @staticmethod
    def _readable_request(data):
        """
        Whether C{data} holds a request name and the want-reply flag.
        """
        return len(data) >= 4 and len(data) >= 4 + struct.unpack(">L", data[:4])[0] + 1

    def _refused(self, what):
        self.log.info("Ignored {what} from {peer}", what=what, peer=describe(self.transport.transport.getPeer()))

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
