"""
The SSH frontend with conch's own client over in-memory transports: the
two sides are pumped by hand and time is a L{Clock}.
"""

import struct
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519
from twisted.conch.ssh.channel import SSHChannel
from twisted.conch.ssh.common import NS
from twisted.conch.ssh.connection import SSHConnection
from twisted.conch.ssh.keys import Key
from twisted.conch.ssh.session import packRequest_pty_req, packRequest_window_change
from twisted.conch.ssh.transport import SSHClientTransport
from twisted.conch.ssh.userauth import SSHUserAuthClient
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from gateway.auth.sshkeys import fingerprint
from gateway.config import build_settings
from gateway.errors import ConfigError
from gateway.frontends.ssh import SSHOptions, build_factory
from gateway.frontends.ssh.hostkeys import KINDS
from gateway.frontends.ssh.server import GatewaySSHFactory
from tests.helpers import make_core, prepared_host_keys, sign_up
from tests.test_output import capture_log
from tests.test_logtext import HOSTILE, assert_not_forged

HOST_KEY = Key(ed25519.Ed25519PrivateKey.generate())


def new_user_key():
    return Key(ed25519.Ed25519PrivateKey.generate())


class ClientTransport(SSHClientTransport):
    def __init__(self, auth):
        self.auth = auth
        self.host_key_fingerprint = None
        self.disconnect_reason = None

    def verifyHostKey(self, hostKey, fp):
        self.host_key_fingerprint = fingerprint(hostKey)
        return succeed(True)

    def connectionSecure(self):
        self.requestService(self.auth)

    def receiveError(self, reasonCode, description):
        self.disconnect_reason = description


class AuthClient(SSHUserAuthClient):
    """
    Offers the given key (once) and then the given passwords in turn; when
    they run out, gives up, or waits for ever when C{stall} is set.
    """

    def __init__(self, user, connection, passwords=(), key=None, stall=False):
        super().__init__(user, connection)
        self.stall = stall
        self.passwords = list(passwords)
        self.key = key
        self.banners = []
        self.failures = []

    def getPublicKey(self):
        if self.key is None or self.lastPublicKey is not None:
            return None
        return self.key.public()

    def getPrivateKey(self):
        return succeed(self.key)

    def getPassword(self, prompt=None):
        if self.passwords:
            return succeed(self.passwords.pop(0))
        if self.stall:
            return Deferred()
        return None

    def ssh_USERAUTH_FAILURE(self, packet):
        self.failures.append(packet)
        return super().ssh_USERAUTH_FAILURE(packet)

    def ssh_USERAUTH_BANNER(self, packet):
        self.banners.append(packet)


class ClientConnection(SSHConnection):
    def __init__(self):
        super().__init__()
        self.started = False
        self.global_replies = []

    def serviceStarted(self):
        super().serviceStarted()
        self.started = True


class ClientChannel(SSHChannel):
    def __init__(self, name=b"session", **kwargs):
        super().__init__(**kwargs)
        self.name = name
        self.received = b""
        self.stderr = b""
        self.exit_status = None
        self.open = None
        self.is_closed = False

    def channelOpen(self, data):
        self.open = True

    def openFailed(self, reason):
        self.open = False
        self.failure = reason

    def dataReceived(self, data):
        self.received += data

    def extReceived(self, dataType, data):
        self.stderr += data

    def request_exit_status(self, data):
        (self.exit_status,) = struct.unpack(">L", data)
        return 1

    def closed(self):
        self.is_closed = True


class Link:
    """
    A server transport built by the factory and a conch client, joined by
    two StringTransports.
    """

    def __init__(self, factory, clock, user=b"alice", passwords=(), key=None, stall=False, server=None):
        """
        @param server: the server transport, when not the factory's usual one.
        """
        self.clock = clock
        self.connection = ClientConnection()
        self.auth = AuthClient(user, self.connection, passwords, key, stall)
        self.client = ClientTransport(self.auth)
        self.server = server or factory.buildProtocol(None)
        self.server_wire = StringTransport()
        self.client_wire = StringTransport()
        self.lost = False
        self.server.makeConnection(self.server_wire)
        self.client.makeConnection(self.client_wire)
        self.pump()

    def pump(self):
        for _ in range(1000):
            moved = False
            for wire, peer in ((self.server_wire, self.client), (self.client_wire, self.server)):
                data = wire.value()
                if data:
                    wire.clear()
                    peer.dataReceived(data)
                    moved = True
            if not moved and not self.lost and (self.server_wire.disconnecting or self.client_wire.disconnecting):
                self.lost = True
                self.server.connectionLost(Failure(ConnectionDone()))
                self.client.connectionLost(Failure(ConnectionDone()))
            if not moved:
                return
        raise AssertionError("the transports never went quiet")

    def settle(self, seconds=0):
        """
        Pump, let C{seconds} pass, and pump again.
        """
        self.pump()
        self.clock.advance(seconds)
        self.pump()

    def channel(self, name=b"session"):
        channel = ClientChannel(name, conn=self.connection)
        self.connection.openChannel(channel)
        self.pump()
        return channel

    def request(self, channel, kind, data=b""):
        replies = []
        self.connection.sendRequest(channel, kind, data, wantReply=True).addCallbacks(
            lambda _: replies.append(True), lambda f: replies.append(False)
        )
        self.settle()
        return replies[0]


class FrontendTestCase(TestCase):
    options = {}

    def setUp(self):
        self.clock = Clock()
        self.core = make_core(self.clock)
        self.settings = build_settings(SSHOptions, self.options, "options")
        self.factory = GatewaySSHFactory(
            self.core, self.core.portal, self.settings, {b"ssh-ed25519": HOST_KEY}, self.clock, "Hello banner\n"
        )
        self.factory.doStart()
        self.addCleanup(self.factory.doStop)
        self.telnet, self.alice_session = sign_up(self.core, "Alice", "secret1")

    def link(self, seconds=1, **kwargs):
        link = Link(self.factory, self.clock, **kwargs)
        link.settle(seconds)
        return link

    def add_key(self, key):
        self.alice_session.line_received("keys add " + key.public().toString("openssh").decode("ascii") + " laptop")
        self.assertIn("Added ssh-ed25519 key", self.telnet.lines())


class AuthenticationTests(FrontendTestCase):
    def test_password_login(self):
        link = self.link(passwords=["secret1"])
        self.assertTrue(link.connection.started)
        self.assertEqual(link.client.host_key_fingerprint, fingerprint(HOST_KEY.public().blob()))
        self.assertEqual(link.auth.banners[0][4:16], b"Hello banner")

    def test_wrong_password_then_right_one(self):
        link = self.link(0, passwords=["wrong1", "secret1"])
        self.assertFalse(link.connection.started)
        link.settle(1)
        self.assertTrue(link.connection.started)

    def test_failures_are_logged_with_the_peer(self):
        from twisted.logger import globalLogPublisher

        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        self.link(user=b"mallory", passwords=["guess1"])
        failed = [e for e in events if e.get("log_format", "").startswith("Failed SSH")]
        self.assertEqual([(e["method"], e["name"], e["peer"]) for e in failed], [("password", "mallory", "192.168.1.1:54321")])
        self.assertNotIn("guess1", repr(events))

    def test_user_name_cannot_forge_log_lines(self):
        events = capture_log(self)
        self.link(user=HOSTILE.encode("utf-8"), passwords=["guess1"])
        assert_not_forged(self, events, "Failed SSH")

    def test_unknown_user_fails_like_a_wrong_password(self):
        known = self.link(passwords=["wrong1"])
        unknown = self.link(user=b"nobody", passwords=["wrong1"])
        for link in (known, unknown):
            self.assertFalse(link.connection.started)
            # The client gave up by itself; the server said nothing more.
            self.assertIsNone(link.client.disconnect_reason)

    def test_public_key_login(self):
        key = new_user_key()
        self.add_key(key)
        link = self.link(key=key)
        self.assertTrue(link.connection.started)

    def test_wrong_key_is_refused(self):
        self.add_key(new_user_key())
        link = self.link(key=new_user_key())
        self.assertFalse(link.connection.started)

    def test_key_of_another_account_is_refused(self):
        key = new_user_key()
        self.add_key(key)
        sign_up(self.core, "Bob")
        link = self.link(user=b"bob", key=key)
        self.assertFalse(link.connection.started)

    def test_none_method_never_succeeds(self):
        link = self.link(stall=True)
        # conch's client starts with "none"; it failed, naming the methods
        # that can succeed.
        self.assertEqual(link.auth.lastAuth, b"none")
        self.assertEqual(link.auth.failures, [NS(b"password,publickey") + b"\x00"])
        self.assertFalse(link.connection.started)

    def test_attempts_are_limited(self):
        link = self.link(passwords=["wrong%d" % i for i in range(10)])
        for _ in range(10):
            link.settle(60)
        self.assertTrue(link.lost)
        self.assertFalse(link.connection.started)
        # Six tried, the sixth failure disconnected.
        self.assertEqual(link.auth.passwords, ["wrong6", "wrong7", "wrong8", "wrong9"])
        self.assertEqual(link.client.disconnect_reason, b"too many bad auths")

    def test_grace_time_closes_unauthenticated_connections(self):
        link = self.link(0, stall=True)
        link.settle(59)
        self.assertFalse(link.lost)
        link.settle(1)
        self.assertTrue(link.lost)
        self.assertEqual(link.client.disconnect_reason, b"authentication took too long")

    def test_grace_time_covers_the_key_exchange(self):
        server = self.factory.buildProtocol(None)
        wire = StringTransport()
        server.makeConnection(wire)
        self.clock.advance(60)
        self.assertTrue(wire.disconnecting)

    def test_grace_timer_stops_after_login(self):
        link = self.link(passwords=["secret1"])
        link.settle(3600)
        self.assertFalse(link.lost)


class GuessLimitTests(FrontendTestCase):
    """
    Password guessing is limited per connection and shares the core's
    login throttle with the other frontends.
    """

    options = {"login_grace_time": 3600}
    host = "192.168.1.1"

    def test_userauth_requested_again_continues_the_count(self):
        link = self.link(passwords=["wrong%d" % i for i in range(4)], stall=True)
        for _ in range(4):
            link.settle(60)
        self.assertFalse(link.lost)
        again = AuthClient(b"alice", link.connection, ["wrong%d" % i for i in range(4, 10)] + ["secret1"])
        link.client.requestService(again)
        for _ in range(10):
            link.settle(60)
        self.assertTrue(link.lost)
        self.assertFalse(link.connection.started)
        # Two more were tried: six in all on the connection.
        self.assertEqual(again.passwords, ["wrong6", "wrong7", "wrong8", "wrong9", "secret1"])
        self.assertEqual(link.client.disconnect_reason, b"too many bad auths")

    def test_failures_feed_the_shared_login_guard(self):
        self.assertEqual(self.core.guard.login_wait(self.host, "alice"), 0)
        self.link(0, passwords=["wrong1"])
        self.assertGreater(self.core.guard.login_wait(self.host, "alice"), 0)
        self.assertGreater(self.core.guard.login_wait(self.host, "someone"), 0, "counted for the address too")

    def test_signed_key_failures_feed_the_login_guard(self):
        self.add_key(new_user_key())
        key = new_user_key()
        link = self.link(stall=True)
        data = b"ssh-ed25519"
        blob = key.public().blob()
        signed = NS(link.server.sessionID) + bytes((50,)) + NS(b"alice") + NS(b"ssh-connection") + NS(b"publickey")
        signed += b"\x01" + NS(data) + NS(blob)
        link.client.sendPacket(50, NS(b"alice") + NS(b"ssh-connection") + NS(b"publickey") + b"\x01" + NS(data)
                               + NS(blob) + NS(key.sign(signed)))
        link.settle()
        self.assertGreater(self.core.guard.login_wait(self.host, "alice"), 0)

    def test_logins_wait_out_the_guard_delay(self):
        for _ in range(3):
            self.core.guard.login_attempted(self.host, "alice")
        link = self.link(passwords=["secret1"])
        self.assertFalse(link.connection.started)
        self.assertIn(b"Too many failed logins; please wait 4 seconds.", b"".join(link.auth.banners))
        link.settle(3)
        self.assertTrue(link.connection.started)

    def test_busy_hasher_fails_the_attempt_with_a_banner(self):
        self.core.hasher.limit = 0
        link = self.link(passwords=["secret1"])
        self.assertFalse(link.connection.started)
        self.assertIn(b"The server is busy; please try again.", b"".join(link.auth.banners))
        self.assertEqual(self.core.guard.login_wait(self.host, "alice"), 0, "not counted by the throttle")

    def test_pipelined_password_requests_fail_without_hashing(self):
        checks = []

        def verify(encoded, password):
            checks.append(password)
            return Deferred()

        self.patch(self.core.hasher, "verify", verify)
        link = self.link(stall=True)
        before = len(link.auth.failures)
        for i in range(5):
            link.client.sendPacket(
                50, NS(b"alice") + NS(b"ssh-connection") + NS(b"password") + b"\x00" + NS(b"guess%d" % i)
            )
        link.settle()
        self.assertEqual(checks, ["guess0"])
        self.assertEqual(len(link.auth.failures) - before, 4)
        self.assertFalse(link.connection.started)


class LimitOptionTests(FrontendTestCase):
    options = {"max_auth_attempts": 2, "login_grace_time": 5}

    def test_configured_limits(self):
        link = self.link(passwords=["a", "b", "c"])
        link.settle(1)
        self.assertTrue(link.lost)
        self.assertEqual(link.auth.passwords, ["c"])
        slow = self.link(0, stall=True)
        slow.settle(4)
        self.assertFalse(slow.lost)
        slow.settle(1)
        self.assertTrue(slow.lost)


class SessionTests(FrontendTestCase):
    def setUp(self):
        super().setUp()
        self.link_ = self.link(passwords=["secret1"])

    def test_pty_sizes_reach_capabilities(self):
        channel = self.link_.channel()
        self.assertTrue(self.link_.request(channel, b"pty-req", packRequest_pty_req(b"xterm-256color", (30, 100, 0, 0), b"")))
        self.assertTrue(self.link_.request(channel, b"shell"))
        session = next(s for s in self.core.sessions if s.capabilities.protocol == "ssh")
        caps = session.capabilities
        self.assertEqual((caps.width, caps.height, caps.secure), (100, 30, True))
        self.assertEqual((caps.terminal, caps.ansi, caps.xterm256), ("xterm-256color", True, True))
        self.assertIn(b"Exits:", channel.received)
        self.assertTrue(self.link_.request(channel, b"window-change", packRequest_window_change((40, 60, 0, 0))))
        self.assertEqual((caps.width, caps.height), (60, 40))
        self.assertEqual(session.transport.editor.width, 60)
        channel.received = b""
        session.send("|rred|n " + "word " * 20)
        self.link_.pump()
        lines = channel.received.split(b"\r\n")
        self.assertTrue(lines[0].startswith(b"\r\x1b[J\x1b[31mred\x1b[0m word"), lines[0])
        self.assertEqual(len(lines[0].split(b"\x1b[J")[1].replace(b"\x1b[31m", b"").replace(b"\x1b[0m", b"")), 58)

    def test_no_colour_or_folding_without_a_terminal(self):
        channel = self.link_.channel()
        self.link_.request(channel, b"exec", NS(b"say |rred|n " + b"word " * 20))
        self.assertIn(b'You say, "|rred|n word word', channel.received)
        self.assertEqual(channel.received.count(b"\r\n"), 1)

    def test_shell_with_line_editor_talks_to_the_world(self):
        channel = self.link_.channel()
        self.link_.request(channel, b"pty-req", packRequest_pty_req(b"xterm", (24, 80, 0, 0), b""))
        self.link_.request(channel, b"shell")
        self.assertTrue(self.telnet.closed)
        self.assertIn(b"You were already connected", channel.received)
        bob, _ = sign_up(self.core, "Bob")
        channel.write(b"say hi\r")
        self.link_.pump()
        self.assertIn('Alice says, "hi"', bob.lines())
        channel.write(b"\x04")
        self.link_.settle()
        self.assertEqual(channel.exit_status, 0)
        self.assertTrue(channel.is_closed)
        self.assertIn("Alice has left.", bob.lines())

    def test_shell_without_pty_reads_lines(self):
        channel = self.link_.channel()
        self.link_.request(channel, b"shell")
        channel.write(b"look\n")
        self.link_.pump()
        self.assertIn(b"Exits:", channel.received)
        self.assertIn(b"\r\n", channel.received)
        self.link_.connection.sendEOF(channel)
        self.link_.settle()
        self.assertEqual(channel.exit_status, 0)

    def test_exec_runs_one_command(self):
        bob, _ = sign_up(self.core, "Bob")
        channel = self.link_.channel()
        self.assertTrue(self.link_.request(channel, b"exec", NS(b"say from afar")))
        self.assertEqual(channel.exit_status, 0)
        self.assertIn(b'You say, "from afar"', channel.received)
        self.assertTrue(channel.is_closed)
        self.assertIn('Alice says, "from afar"', bob.lines())
        # The telnet session of the same account was not taken over, and
        # nobody was told that Alice arrived or left.
        self.assertFalse(self.telnet.closed)
        self.assertNotIn("has left", bob.lines())

    def test_exec_input_answers_the_commands_questions(self):
        channel = self.link_.channel()
        self.link_.connection.sendRequest(channel, b"exec", NS(b"password"))
        channel.write(b"secret1\nnewpass1\nnewpass1\nsay not a command\n")
        self.link_.connection.sendEOF(channel)
        for _ in range(5):
            self.link_.settle()
        self.assertIn(b"Your password has been changed.", channel.received)
        self.assertNotIn(b"not a command", channel.received)
        self.assertEqual(channel.exit_status, 0)
        self.assertTrue(self.link(passwords=["newpass1"]).connection.started)

    def test_exec_with_a_terminal_hides_the_answers(self):
        channel = self.link_.channel()
        self.link_.request(channel, b"pty-req", packRequest_pty_req(b"xterm", (24, 80, 0, 0), b""))
        self.link_.request(channel, b"exec", NS(b"password"))
        for keys in (b"secret1\r", b"newpass1\r", b"newpass1\r"):
            channel.write(keys)
            self.link_.settle()
        self.assertIn(b"Your password has been changed.", channel.received)
        self.assertNotIn(b"secret1", channel.received)
        self.assertNotIn(b"newpass1", channel.received)
        self.assertEqual(channel.exit_status, 0)

    def test_exec_question_after_input_ended_fails(self):
        channel = self.link_.channel()
        self.link_.connection.sendRequest(channel, b"exec", NS(b"password"))
        self.link_.connection.sendEOF(channel)
        for _ in range(3):
            self.link_.settle()
        self.assertIn(b"Current password: ", channel.received)
        self.assertEqual(channel.exit_status, 1)
        self.assertTrue(channel.is_closed)
        self.assertEqual([s for s in self.core.sessions if s.capabilities.protocol == "ssh"], [])

    def test_shell_input_sent_with_the_request_is_kept(self):
        bob, _ = sign_up(self.core, "Bob")
        channel = self.link_.channel()
        self.link_.connection.sendRequest(channel, b"shell", b"")
        channel.write(b"say early\n")
        self.link_.connection.sendEOF(channel)
        self.link_.settle()
        self.link_.settle()
        self.assertIn('Alice says, "early"', bob.lines())
        self.assertEqual(channel.exit_status, 0)

    def test_dropped_connection_lingers_then_leaves_the_world(self):
        bob, _ = sign_up(self.core, "Bob")
        channel = self.link_.channel()
        self.link_.request(channel, b"shell")
        self.assertEqual(self.core.world.find_online("alice").capabilities.protocol, "ssh")
        self.link_.client_wire.loseConnection()
        self.link_.pump()
        self.assertIsNotNone(self.core.world.find_online("alice").lingering)
        self.assertNotIn("Alice has left.", bob.lines())
        self.core.clock.advance(self.core.settings.sessions.linger)
        self.assertIn("Alice has left.", bob.lines())
        self.assertEqual([s.account.name for s in self.core.world.online()], ["Bob"])

    def test_exec_who_with_nobody_online(self):
        self.alice_session.line_received("quit")
        self.telnet.disconnect()
        channel = self.link_.channel()
        self.link_.request(channel, b"exec", NS(b"who"))
        self.assertEqual(channel.received, b"0 players online:\r\n")
        self.assertEqual(channel.exit_status, 0)

    def test_failing_exec_exits_non_zero(self):
        channel = self.link_.channel()
        self.link_.request(channel, b"exec", NS(b"frobnicate"))
        self.assertEqual(channel.exit_status, 1)
        self.assertIn(b"Unknown command 'frobnicate'", channel.received)

    def test_malformed_requests_fail_and_change_nothing(self):
        channel = self.link_.channel()
        self.assertFalse(self.link_.request(channel, b"pty-req", b"\x00\x00"))
        self.assertFalse(self.link_.request(channel, b"window-change", b"x"))
        self.assertFalse(self.link_.request(channel, b"exec", b""))
        self.assertTrue(self.link_.request(channel, b"pty-req", packRequest_pty_req(b"xterm", (24, 90, 0, 0), b"")))
        self.assertTrue(self.link_.request(channel, b"shell"))
        session = next(s for s in self.core.sessions if s.capabilities.protocol == "ssh")
        self.assertEqual(session.capabilities.width, 90)
        self.assertFalse(self.link_.lost)

    def test_malformed_requests_without_reply_change_nothing(self):
        channel = self.link_.channel()
        self.link_.connection.sendRequest(channel, b"pty-req", b"\x00\x00")
        self.link_.connection.sendRequest(channel, b"window-change", b"x")
        self.link_.connection.sendRequest(channel, b"\xff\xfe", b"")
        self.link_.settle()
        self.assertFalse(self.link_.request(channel, b"\xff\xfe"))
        self.assertTrue(self.link_.request(channel, b"pty-req", packRequest_pty_req(b"xterm", (24, 90, 0, 0), b"")))
        self.assertFalse(self.link_.lost)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_messages_for_unknown_channels_are_ignored(self):
        channel = self.link_.channel()
        for number, payload in [
            (98, struct.pack(">L", 77) + NS(b"shell") + b"\x01"),
            (94, struct.pack(">L", 77) + NS(b"data")),
            (97, struct.pack(">L", 77)),
            (93, b"\x00"),
        ]:
            self.link_.client.sendPacket(number, payload)
        self.link_.settle()
        self.assertFalse(self.link_.lost)
        self.assertEqual(self.flushLoggedErrors(), [])
        self.assertTrue(self.link_.request(channel, b"shell"))

    def test_truncated_channel_request_fails(self):
        channel = self.link_.channel()
        replies = []
        self.link_.connection.ssh_CHANNEL_FAILURE = replies.append
        server_id = struct.pack(">L", self.link_.connection.channelsToRemoteChannel[channel])
        self.link_.client.sendPacket(98, server_id + b"\x00\x00")
        self.link_.client.sendPacket(98, server_id + NS(b"shell"))
        self.link_.settle()
        self.assertEqual(replies, [struct.pack(">L", channel.id)] * 2)
        self.assertFalse(self.link_.lost)
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_other_channel_types_are_refused(self):
        forward = self.link_.channel(b"direct-tcpip")
        self.assertFalse(forward.open)
        self.assertEqual(self.link_.channel(b"x11").open, False)
        self.assertEqual(self.link_.channel(b"auth-agent@openssh.com").open, False)
        self.assertTrue(self.link_.channel().open)
        self.assertFalse(self.link_.channel().open, "a second session channel")
        self.assertFalse(self.link_.lost)

    def test_channel_type_and_exec_command_cannot_forge_log_lines(self):
        events = capture_log(self)
        self.assertFalse(self.link_.channel(HOSTILE.encode("utf-8")).open)
        assert_not_forged(self, events, "Refused a")
        self.link_.request(self.link_.channel(), b"exec", NS(HOSTILE.encode("utf-8")))
        assert_not_forged(self, events, "{peer} {name} runs", shown=None)

    def test_subsystems_forwarding_requests_are_refused(self):
        channel = self.link_.channel()
        for kind, data in [
            (b"subsystem", NS(b"sftp")),
            (b"x11-req", b"\x00" + NS(b"MIT-MAGIC-COOKIE-1") + NS(b"00") + b"\x00\x00\x00\x00"),
            (b"auth-agent-req@openssh.com", b""),
            (b"env", NS(b"LANG") + NS(b"C")),
        ]:
            self.assertFalse(self.link_.request(channel, kind, data), kind)
        replies = []
        self.link_.connection.sendGlobalRequest(
            b"tcpip-forward", NS(b"127.0.0.1") + struct.pack(">L", 8080), wantReply=True
        ).addCallbacks(lambda _: replies.append(True), lambda _: replies.append(False))
        self.link_.pump()
        self.assertEqual(replies, [False])
        self.assertTrue(self.link_.request(channel, b"shell"))
        self.assertFalse(self.link_.request(channel, b"exec", NS(b"who")), "one shell or exec per channel")


class OutputLimitTests(FrontendTestCase):
    options = {"max_unsent_bytes": 4096}

    def test_client_that_stops_reading_is_cut_off(self):
        link = self.link(passwords=["secret1"])
        channel = link.channel()
        link.request(channel, b"shell")
        session = next(s for s in self.core.sessions if s.capabilities.protocol == "ssh")
        # The client reads nothing more: its window (128 KiB) fills, then
        # 4 KiB more wait, then the connection is closed.
        for _ in range(40):
            session.send("x" * 4000)
        self.assertTrue(link.server_wire.disconnecting)
        link.pump()
        self.assertEqual(link.client.disconnect_reason, b"output not being read")


class SignUpTests(FrontendTestCase):
    options = {"new_accounts": "sign-up"}

    def test_sign_up_user_cannot_exec(self):
        link = self.link(user=b"new", passwords=["anything"])
        channel = link.channel()
        link.request(channel, b"exec", NS(b"who"))
        self.assertEqual(channel.exit_status, 2)
        self.assertIn(b"interactive session", channel.stderr)


class RefuseModeTests(FrontendTestCase):
    def test_sign_up_user_is_an_ordinary_unknown_name(self):
        link = self.link(user=b"new", passwords=["anything"])
        self.assertFalse(link.connection.started)


class NewcomerHintTests(FrontendTestCase):
    """
    Without a C{banner} option the built-in hint for newcomers is shown
    only after a failed password: a player who logs in, or runs a command
    with C{ssh host who}, never gets it on standard error.
    """

    def setUp(self):
        super().setUp()
        self.build({})

    def build(self, options):
        """
        Serve with the factory L{build_factory} makes of C{options}.
        """
        keys = Path(self.mktemp())
        prepared_host_keys(keys)
        paths = {kind.option: str(keys / kind.file_name) for kind in KINDS}
        self.factory = build_factory(self.core, self.core.portal, {**paths, **options})
        self.factory.doStart()
        self.addCleanup(self.factory.doStop)

    def test_not_shown_to_a_player_who_logs_in(self):
        link = self.link(passwords=["secret1"])
        self.assertTrue(link.connection.started)
        self.assertEqual(link.auth.banners, [])

    def test_not_shown_to_an_exec_with_a_key(self):
        key = new_user_key()
        self.add_key(key)
        link = self.link(key=key)
        channel = link.channel()
        link.request(channel, b"exec", NS(b"who"))
        self.assertEqual(channel.exit_status, 0)
        self.assertEqual(link.auth.banners, [])
        self.assertEqual(channel.stderr, b"")

    def test_shown_once_after_a_failed_password(self):
        link = self.link(0, user=b"nobody", passwords=["wrong1", "wrong2"])
        link.settle(2)
        self.assertEqual(len(link.auth.banners), 1)
        self.assertIn(b"New here? Create an account first", link.auth.banners[0])

    def test_operator_banner_goes_to_everyone_first(self):
        self.build({"banner": "Authorised players only.\n"})
        link = self.link(0, passwords=["wrong1", "secret1"])
        link.settle(2)
        self.assertTrue(link.connection.started)
        self.assertEqual([b[4:28] for b in link.auth.banners], [b"Authorised players only."])


class AlgorithmTests(FrontendTestCase):
    def test_only_modern_algorithms_are_offered(self):
        transport = self.factory.buildProtocol(None)
        self.assertIn(b"curve25519-sha256", transport.supportedKeyExchanges)
        for name in transport.supportedKeyExchanges:
            self.assertNotIn(b"sha1", name)
            self.assertNotIn(b"nistp", name)
            self.assertNotIn(b"group", name)
        self.assertTrue(transport.supportedCiphers)
        for name in transport.supportedCiphers:
            self.assertTrue(name.endswith((b"-ctr", b"-gcm@openssh.com", b"poly1305@openssh.com")), name)
        self.assertTrue(transport.supportedMACs)
        for name in transport.supportedMACs:
            self.assertTrue(name.startswith(b"hmac-sha2-"), name)
        self.assertEqual(transport.supportedPublicKeys, [b"ssh-ed25519"])
        self.assertEqual(transport.supportedCompressions, [b"none"])
        self.assertEqual(transport.ourVersionString, b"SSH-2.0-gateway")


class NistOptionTests(FrontendTestCase):
    options = {"nist_curves": True, "version": "SSH-2.0-World_1.0 test"}

    def test_nist_curves_on_request(self):
        transport = self.factory.buildProtocol(None)
        self.assertIn(b"ecdh-sha2-nistp256", transport.supportedKeyExchanges)
        self.assertEqual(transport.ourVersionString, b"SSH-2.0-World_1.0 test")


class OptionTests(TestCase):
    def test_bad_options_are_refused(self):
        core = make_core()
        for options, text in [
            ({"version": "gateway"}, "options.version must be an SSH version line"),
            ({"new_accounts": "maybe"}, "options.new_accounts must be 'refuse' or 'sign-up'"),
            ({"max_auth_attempts": 0}, "options.max_auth_attempts must be a number of at least 1"),
            ({"colour": True}, "unknown key options.colour"),
        ]:
            e = self.assertRaises(ConfigError, build_factory, core, core.portal, options)
            self.assertIn(text, str(e))


class RefusalTests(FrontendTestCase):
    def test_refused_client_gets_a_disconnect_message(self):
        refusal = self.factory.refuse(None, "Server full, try again later.")
        link = self.link(passwords=("secret1",), server=refusal)
        self.assertEqual(link.client.disconnect_reason, b"Server full, try again later.")
        self.assertTrue(link.lost)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(len(self.core.sessions), 1)

    def test_refused_client_that_stays_is_cut(self):
        refusal = self.factory.refuse(None, "Server full, try again later.")
        wire = StringTransport()
        refusal.makeConnection(wire)
        refusal.dataReceived(b"SSH-2.0-lingering\r\n" + b"\0" * 100)
        self.assertIn(b"Server full, try again later.", wire.value())
        self.assertFalse(wire.disconnecting)
        self.clock.advance(refusal.REFUSAL_LINGER)
        self.assertTrue(wire.disconnecting)
