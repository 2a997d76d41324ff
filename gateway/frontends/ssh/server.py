"""
The SSH server factory and transport: host keys, algorithms, version
string and login grace time, all per listener.
"""

import struct
from itertools import chain

from twisted.conch.ssh.common import NS
from twisted.conch.ssh.factory import SSHFactory
from twisted.conch.ssh.transport import (
    DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE, DISCONNECT_TOO_MANY_CONNECTIONS, MSG_DISCONNECT, SSHServerTransport,
)
from twisted.internet.protocol import Factory
from twisted.logger import Logger
from zope.interface import implementer

from gateway.frontends.addresses import describe
from gateway.frontends.ssh.auth import AccountPortal, ConnectionService, UserAuthService
from gateway.errors import StartupError
from gateway.frontends.ssh.hostkeys import load_host_keys
from gateway.interfaces import IRefusingFactory
from gateway.sighup import IReconfigurable

#: Algorithms offered, best first, where the running Twisted implements
#: them: key exchange on Curve25519 (with ML-KEM where available; no SHA-1
#: and no finite-field groups), AEAD or CTR ciphers, SHA-2 MACs
#: (encrypt-then-MAC first), host keys signed with SHA-2 or EdDSA.  The
#: NIST-curve algorithms are only offered when the listener's
#: C{nist_curves} option asks for them.
KEY_EXCHANGES = (
    b"mlkem768x25519-sha256", b"sntrup761x25519-sha512@openssh.com",
    b"curve25519-sha256", b"curve25519-sha256@libssh.org",
)
NIST_KEY_EXCHANGES = (b"ecdh-sha2-nistp521", b"ecdh-sha2-nistp384", b"ecdh-sha2-nistp256")
CIPHERS = (
    b"chacha20-poly1305@openssh.com", b"aes256-gcm@openssh.com", b"aes128-gcm@openssh.com",
    b"aes256-ctr", b"aes192-ctr", b"aes128-ctr",
)
MACS = (
    b"hmac-sha2-512-etm@openssh.com", b"hmac-sha2-256-etm@openssh.com",
    b"hmac-sha2-512", b"hmac-sha2-256",
)
HOST_KEY_ALGORITHMS = (b"ssh-ed25519", b"rsa-sha2-512", b"rsa-sha2-256")
NIST_HOST_KEY_ALGORITHMS = (b"ecdsa-sha2-nistp256",)


def offered(preferred, supported):
    """
    The algorithms of C{preferred} that C{supported} has, in C{preferred}'s
    order.
    """
    return [name for name in preferred if name in supported]


class ServerTransport(SSHServerTransport):
    """
    The server transport, closing connections that have not authenticated
    within the login grace time (counted from the TCP connection, so a
    client that never finishes the key exchange is covered too).

    @ivar refusal: when set, the connection is refused: the version string
        goes out, then a disconnect message with this text, and the client
        closes (or is cut after L{REFUSAL_LINGER} seconds).  Closing first
        would reset a connection the client has already written to, and it
        would never read the message.
    @ivar auth_failures: failed authentication attempts on this connection,
        across every C{ssh-userauth} service it requested.
    @ivar checking: whether a password or key check of this connection is
        running.
    @ivar output_paused: whether the connection holds more output than it
        buffers, the client not reading it: this transport is a push
        producer on its own transport and tells its channels, which pause
        what feeds them (L{gateway.frontends.ssh.session.SessionChannel}).
    """

    log = Logger()
    refusal = None
    auth_failures = 0
    checking = False
    output_paused = False
    _grace = None
    REFUSAL_LINGER = 10

    def connectionMade(self):
        if self.refusal is not None:
            super().connectionMade()
            reason = struct.pack(">L", DISCONNECT_TOO_MANY_CONNECTIONS)
            self.sendPacket(MSG_DISCONNECT, reason + NS(self.refusal.encode("utf-8")) + NS(b""))
            self._grace = self.factory.clock.callLater(self.REFUSAL_LINGER, self.transport.abortConnection)
            return
        settings = self.factory.settings
        self._grace = self.factory.clock.callLater(settings.login_grace_time, self._grace_over)
        self.transport.registerProducer(self, True)
        super().connectionMade()

    def pauseProducing(self):
        self._tell_channels(True)

    def resumeProducing(self):
        self._tell_channels(False)

    def stopProducing(self):
        # The channels hear of the connection's end from connectionLost.
        pass

    def _tell_channels(self, paused):
        self.output_paused = paused
        for channel in list(getattr(self.service, "channels", {}).values()):
            follow = getattr(channel, "connection_output_paused", None)
            if follow is not None:
                follow(paused)

    def _grace_over(self):
        self._grace = None
        self.log.info(
            "SSH connection from {peer} did not authenticate within {seconds:g} seconds",
            peer=describe(self.transport.getPeer()), seconds=self.factory.settings.login_grace_time,
        )
        self.sendDisconnect(DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE, b"authentication took too long")

    def dataReceived(self, data):
        if self.refusal is None:
            super().dataReceived(data)

    def setService(self, service):
        if service.name == b"ssh-connection" and self._grace is not None:
            self._grace.cancel()
            self._grace = None
        super().setService(service)

    def connectionLost(self, reason):
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        super().connectionLost(reason)


@implementer(IRefusingFactory, IReconfigurable)
class GatewaySSHFactory(SSHFactory):
    """
    One SSH listener.  Everything it serves with (keys, portal, limits,
    services) lives on the instance; nothing is set on a class.  A client
    the connection limits turn away gets an SSH disconnect message.

    @ivar core: the L{gateway.interfaces.IGatewayCore}.
    @ivar settings: the listener's L{gateway.frontends.ssh.SSHOptions}.
    @ivar clock: the L{twisted.internet.interfaces.IReactorTime} for timers.
    @ivar banner: text clients show before authentication, or C{""}.
    @ivar hint: text for newcomers (where to sign up) clients show after
        a failed password, or C{""}.
    """

    protocol = ServerTransport
    log = Logger()

    def __init__(self, core, portal, settings, host_keys, clock, banner, hint="", host_key_paths=None):
        """
        @param portal: the shared L{twisted.cred.portal.Portal}.
        @param host_keys: SSH key type to private L{twisted.conch.ssh.keys.Key}.
        @param host_key_paths: L{gateway.frontends.ssh.hostkeys.HostKeyKind}
            to the file each host key is read from again on a reload
            (L{reconfigService}); none when L{None}.
        """
        self.host_key_paths = host_key_paths or {}
        self.core = core
        self.settings = settings
        self.clock = clock
        self.banner = banner
        self.hint = hint
        self.portal = AccountPortal(portal, self)
        self.serve_keys(host_keys)
        self.primes = None
        self.services = {b"ssh-userauth": UserAuthService, b"ssh-connection": ConnectionService}

    def serve_keys(self, host_keys):
        """
        Serve C{host_keys} to connections made from now on.

        @param host_keys: SSH key type to private L{twisted.conch.ssh.keys.Key}.
        """
        self.privateKeys = dict(host_keys)
        self.publicKeys = {kind: key.public() for kind, key in host_keys.items()}

    def reconfigService(self, new_config):
        """
        Read the host keys again from their files, so that a key replaced
        on disk is served to new connections (open ones keep the key they
        started with).  The listener's options, the files' paths among
        them, change with a restart.  When a file cannot be used, every
        key stays as it was and the reason is logged.

        @return: whether the keys were read.
        """
        try:
            keys = load_host_keys(self.host_key_paths)
        except StartupError as e:
            self.log.error("SSH host keys not reloaded, the ones in service stay: {error}", error=str(e))
            return False
        self.serve_keys(keys)
        return True

    def buildProtocol(self, addr):
        # Factory's, not SSHFactory's: that one would log, for every
        # connection, that group exchange is off (it is never offered).
        transport = Factory.buildProtocol(self, addr)
        transport.ourVersionString = self.settings.version.encode("ascii")
        signatures = chain.from_iterable(key.supportedSignatureAlgorithms() for key in self.privateKeys.values())
        nist = self.settings.nist_curves
        host_key_algorithms = HOST_KEY_ALGORITHMS + (NIST_HOST_KEY_ALGORITHMS if nist else ())
        key_exchanges = KEY_EXCHANGES + (NIST_KEY_EXCHANGES if nist else ())
        transport.supportedPublicKeys = offered(host_key_algorithms, list(signatures))
        transport.supportedKeyExchanges = offered(key_exchanges, transport.supportedKeyExchanges)
        transport.supportedCiphers = offered(CIPHERS, transport.supportedCiphers)
        transport.supportedMACs = offered(MACS, transport.supportedMACs)
        transport.supportedCompressions = [b"none"]
        return transport

    def refuse(self, address, message):
        """
        See L{IRefusingFactory.refuse}: a transport that sends C{message} as
        an SSH disconnect right after the version exchange.
        """
        transport = self.buildProtocol(address)
        transport.refusal = message
        return transport
