"""
Real MUD clients against the real daemon over loopback: TinTin++ logs in
and chats, telnetlib3 gets MCCP2, MSSP and GMCP (the plain C{telnet}
program is in test_real_telnet).  Every wait has a deadline; a test skips
when its client is not installed.
"""

import asyncio
import logging
import os
import subprocess

from twisted.trial.unittest import SkipTest, TestCase

from tests.daemon import ROOT, Daemon, LineClient, log_in, sign_up

EPHEMERAL = "tcp:0:interface=127.0.0.1"
TINTIN = "/usr/games/tt++"

TINTIN_SCRIPT = """\
#event {{SESSION DISCONNECTED}} {{#end}}
#action {{Name: }} {{#send Alice}}
#action {{Create it?}} {{#send yes}}
#action {{Choose a password}} {{#send secret1}}
#action {{Repeat the password}} {{#send secret1}}
#action {{^Exits:}} {{#send say hello from tintin}}
#action {{Bob says, "bye"}} {{#send quit}}
#session mud 127.0.0.1 {port}
"""

TINTIN_PASSWORD_SCRIPT = """\
#config {{DEBUG TELNET}} ON
#event {{SESSION DISCONNECTED}} {{#end}}
#action {{Name: }} {{#send Alice}}
#action {{Create it?}} {{#send yes}}
#action {{Choose a password}} {{#send {old}}}
#action {{Repeat the password}} {{#send {old}}}
#action {{Your account has been created}} {{#send password}}
#action {{Current password: }} {{#send {old}}}
#action {{New password (at least}} {{#send {new}}}
#action {{Repeat the new password: }} {{#send {new}}}
#action {{Your password has been changed}} {{#send quit}}
#session mud 127.0.0.1 {port}
"""


class ClientTestCase(TestCase):
    def setUp(self):
        data = self.mktemp()
        self.daemon = Daemon(
            data, config=ROOT / "etc" / "gateway.toml", listen=[f"telnet={EPHEMERAL}", "ssh=off"],
            extra_args=["--debug-log"],  # the negotiation shows in debug events
        )
        self.addCleanup(self.daemon.stop)
        self.daemon.start()
        self.port = self.daemon.ports["telnet"]

    def line_client(self):
        client = LineClient(self.port)
        self.addCleanup(client.close)
        return client


class TinTinTests(ClientTestCase):
    def setUp(self):
        if not os.access(TINTIN, os.X_OK):
            raise SkipTest(f"TinTin++ is not installed ({TINTIN}; Debian package tintin++)")
        super().setUp()

    def test_logs_in_and_chats_with_options_negotiated(self):
        bob = self.line_client()
        sign_up(bob, "Bob")
        script = self.mktemp()
        with open(script, "w") as f:
            f.write(TINTIN_SCRIPT.format(port=self.port))
        tintin = subprocess.Popen(
            ["timeout", "30", TINTIN, "-H", "-G", script], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=dict(os.environ, TERM="xterm"),
        )
        self.addCleanup(lambda: tintin.poll() is None and tintin.kill())
        bob.expect('Alice says, "hello from tintin"', timeout=20)
        bob.send_line("say bye")
        bob.expect("Alice has left.", timeout=20)
        tintin.wait(20)
        output = self.daemon.output()
        # The server's own record of what TinTin++ agreed to.
        for option in ("server EOR", "client TTYPE", "client NAWS", "client NEW-ENVIRON", "server CHARSET",
                       "server MCCP2"):
            self.assertIn(f"{option} on", output)
        self.assertIn("client='TinTin++'", output)
        self.assertIn("ansi=True", output)
        self.assertIn("Alice telnet", output)

    def test_passwords_hidden_on_screen(self):
        """
        TinTin++ answers C{WILL ECHO} but never C{WONT ECHO}: it signs up
        and changes its password with its telnet debugging on, and none of
        the five password prompts shows what it typed: its debugging shows
        the server taking over the echo (C{WILL ECHO}) before each one.
        """
        script = self.mktemp()
        with open(script, "w") as f:
            f.write(TINTIN_PASSWORD_SCRIPT.format(port=self.port, old="Tintin-old-pw", new="Tintin-new-pw"))
        tintin = subprocess.Popen(
            ["timeout", "30", TINTIN, "-H", "-G", script], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=dict(os.environ, TERM="xterm"),
        )
        self.addCleanup(lambda: tintin.poll() is None and tintin.kill())
        screen = tintin.communicate(timeout=40)[0].decode("utf-8", "replace")
        self.assertIn("Your password has been changed.", screen)
        for prompt in ("Choose a password", "Repeat the password", "Current password", "New password",
                       "Repeat the new password"):
            before = screen[:screen.index(prompt)]
            self.assertGreater(before.rfind("RCVD IAC WILL ECHO"), before.rfind("RCVD IAC WONT ECHO"), prompt)
        self.assertNotIn("Tintin-old-pw", screen)
        self.assertNotIn("Tintin-new-pw", screen)
        log_in(self.line_client(), "Alice", "Tintin-new-pw")


class TelnetLib3Tests(ClientTestCase):
    def setUp(self):
        try:
            import telnetlib3  # noqa: F401
        except ImportError:
            raise SkipTest("telnetlib3 is not installed (pip install telnetlib3)")
        super().setUp()

    def test_mccp2_mssp_and_gmcp(self):
        from telnetlib3.client import TelnetClient
        from telnetlib3.telopt import MSSP
        import telnetlib3

        class Client(TelnetClient):
            def connection_made(self, transport):
                super().connection_made(transport)
                # Crawlers ask for MSSP; telnetlib3 only agrees when told to.
                self.writer.passive_do.add(MSSP)

        warnings = []
        handler = logging.Handler(logging.WARNING)
        handler.emit = warnings.append
        logger = logging.getLogger("telnetlib3")
        logger.addHandler(handler)
        self.addCleanup(logger.removeHandler, handler)

        async def session():
            reader, writer = await asyncio.wait_for(telnetlib3.open_connection(
                "127.0.0.1", self.port, client_factory=Client, compression=True, connect_minwait=0.2,
                connect_maxwait=5, term="xterm-256color"), 20)

            async def until(text):
                seen = ""
                while text not in seen:
                    chunk = await asyncio.wait_for(reader.read(4096), 20)
                    if not chunk:
                        raise AssertionError(f"closed waiting for {text!r}; got {seen!r}")
                    seen += chunk
                return seen

            await until("Name: ")
            for answer, prompt in (("Carol", "(yes/no) "), ("yes", "characters): "), ("secret1", "password: "),
                                   ("secret1", "Exits:")):
                writer.write(answer + "\r\n")
                room = await until(prompt)
            compressed = writer.mccp2_active
            writer.write("say over gmcp\r\n")
            await until('You say, "over gmcp"')
            writer.write("quit\r\n")
            await until("Goodbye.")
            self.assertEqual(await asyncio.wait_for(reader.read(4096), 20), "")
            writer.close()
            return room, compressed, writer

        room, compressed, writer = asyncio.run(session())
        self.assertIn("\x1b[96mThe Plaza\x1b[0m", room)
        self.assertTrue(compressed)
        # The stream ended with Z_FINISH (telnetlib3 turns MCCP2 off on the
        # end of the zlib stream) and never failed to decompress.
        self.assertFalse(writer.mccp2_active)
        self.assertEqual([r.getMessage() for r in warnings], [])
        mssp = writer.ctx.mssp_data
        self.assertEqual((mssp["NAME"], mssp["PORT"], mssp["MCCP"], mssp["GMCP"]), ("gateway", str(self.port), "1", "1"))
        self.assertTrue(mssp["UPTIME"].isdigit())
        gmcp = writer.ctx.gmcp_data
        self.assertEqual(gmcp["Char.Login.Result"], {"success": True, "name": "Carol"})
        self.assertEqual(gmcp["Room.Info"]["name"], "The Plaza")
        self.assertEqual(gmcp["Room.Info"]["exits"]["north"], "library")
        self.assertEqual(gmcp["Comm.Channel.Text"], {"channel": "say", "talker": "Carol", "text": 'You say, "over gmcp"'})
        self.assertIn("client='telnetlib3'", self.daemon.output())
