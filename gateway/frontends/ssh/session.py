"""
An SSH C{session} channel as a core session: a shell (with a line editor
when the client asked for a terminal, plain lines otherwise) or one
command run by an C{exec} request.
"""

import struct

from twisted.conch.insults.insults import ServerProtocol
from twisted.conch.ssh.channel import SSHChannel
from twisted.conch.ssh.common import getNS
from twisted.conch.ssh.connection import EXTENDED_DATA_STDERR
from twisted.conch.ssh.session import parseRequest_pty_req, parseRequest_window_change
from twisted.conch.ssh.transport import DISCONNECT_BY_APPLICATION
from twisted.internet.error import ConnectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from gateway.core import markup
from gateway.core.capabilities import Capabilities
from gateway.frontends.addresses import describe
from gateway.frontends.linebuffer import TOO_LONG, LineBuffer
from gateway.frontends.ssh.editor import LineEditor
from gateway.frontends.text import decode_line, encode_line
from gateway.interfaces import IInputFlow, ISessionTransport
from gateway.logtext import loggable

#: Exit statuses of C{exec} requests.
EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


def client_name(version):
    """
    The software part of an SSH version line, e.g. C{"OpenSSH_9.2p1"} from
    C{b"SSH-2.0-OpenSSH_9.2p1 Debian-2"}.
    """
    software = version.split(b"-", 2)[-1].split(b" ")[0]
    return decode_line(software[:64])


@implementer(ISessionTransport, IInputFlow)
class SessionChannel(SSHChannel):
    """
    One C{session} channel of an authenticated connection.

    Requests it accepts: C{pty-req} (once, before the shell), C{window-change},
    C{shell} and C{exec} (one of them, once).  Everything else (C{x11-req},
    C{auth-agent-req@openssh.com}, C{subsystem} such as sftp, C{env},
    C{signal}) is refused by L{SSHChannel.requestReceived} because there is
    no C{request_*} method for it.

    @ivar avatar: the L{gateway.frontends.ssh.auth.Player}.
    @ivar session: the core's L{gateway.core.session.Session} once started.
    """

    name = b"session"
    log = Logger()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.session = None
        self.capabilities = None
        self.editor = None
        self._terminal = None
        self._lines = None
        self._mode = None
        self._pty = False
        self._gone = False
        self._early = []
        self._asking = False
        self._input_ended = False
        self._input_paused = False

    def channelOpen(self, specificData):
        transport = self.conn.transport
        self.capabilities = Capabilities(
            protocol="ssh", secure=True, ansi=False,
            peer=describe(transport.transport.getPeer()),
            client=client_name(transport.otherVersionString or b""),
        )

    @property
    def _core(self):
        return self.avatar.server.core

    # Requests

    def requestReceived(self, requestType, data):
        """
        Handle a channel request; one whose data cannot be read (or whose
        name is not ASCII) fails with a log line, not a traceback.
        """
        try:
            return super().requestReceived(requestType, data)
        except (struct.error, ValueError, IndexError):
            self.log.info(
                "Refused a malformed {type!r} request from {peer}",
                type=requestType.decode("ascii", "replace"), peer=self.capabilities.peer,
            )
            return 0

    def request_pty_req(self, data):
        if self._pty or self._mode is not None:
            return 0
        term, (rows, columns, _, _), _ = parseRequest_pty_req(data)
        self._pty = True
        self.capabilities.terminal = decode_line(term[:64])
        self.capabilities.ansi = term not in (b"", b"dumb")
        self.capabilities.xterm256 = b"256color" in term
        self._resize(rows, columns)
        return 1

    def request_window_change(self, data):
        rows, columns, _, _ = parseRequest_window_change(data)
        self._resize(rows, columns)
        if self.session is not None:
            self.session.capabilities_changed()
        return 1

    def _resize(self, rows, columns):
        if columns > 0:
            self.capabilities.width = min(columns, 1000)
        if rows > 0:
            self.capabilities.height = min(rows, 1000)
        if self.editor is not None:
            self.editor.width = self.capabilities.width

    def request_shell(self, data):
        if self._mode is not None:
            return 0
        self._mode = "shell"
        self._start_input()
        if self._lines is not None:
            # Lines sent with the request (`ssh -T host < commands`) wait
            # in the line buffer until the session has started.
            self.pause_input()
        # Start once the reply to this request has gone out.
        self._core.clock.callLater(0, self._start_shell)
        return 1

    def _start_input(self):
        """
        Read input through the line editor when there is a terminal, as
        plain lines otherwise.
        """
        max_chars = self._core.limits.max_line_bytes
        if self._pty:
            self._terminal = ServerProtocol(LineEditor, self._line, self._end_of_input, max_chars)
            self._terminal.makeConnection(self)
            self.editor = self._terminal.terminalProtocol
            self.editor.width = self.capabilities.width
        else:
            self._lines = LineBuffer(max_chars)

    def _start_shell(self):
        if self._gone:
            return
        self.session = self._core.connect(self, self.avatar.account)
        early, self._early = self._early, []
        for text in early:
            self.session.line_received(text)
        if self._input_paused:
            # Takes the lines held, then leaves if the input has ended.
            self.resume_input()
        elif self._input_ended:
            self._input_ended = False
            self.eofReceived()

    def request_exec(self, data):
        if self._mode is not None:
            return 0
        command = decode_line(getNS(data)[0])
        self._mode = "exec"
        self._start_input()
        self._core.clock.callLater(0, self._start_exec, command)
        return 1

    def _start_exec(self, command):
        if self._gone:
            return
        account = self.avatar.account
        if account is None and self._core.accounts:
            self.writeExtended(
                EXTENDED_DATA_STDERR,
                encode_line("Signing up needs an interactive session: ssh without a command."),
            )
            self._exit(EXIT_REFUSED)
            return
        self.log.info(
            "{peer} {name} runs '{command}' over SSH exec",
            peer=self.capabilities.peer, name=account.name if account else "(no account)",
            command=loggable(command.split(" ", 1)[0]),
        )
        self.session, done = self._core.execute(self, account, command)
        done.addCallback(lambda succeeded: self._exit(EXIT_OK if succeeded else EXIT_FAILED))

    def _exit(self, status):
        if not self.closing and not self._gone:
            self.conn.sendRequest(self, b"exit-status", struct.pack(">L", status))
            self.loseConnection()

    # Input.  A shell's lines are commands (kept until the session has
    # started).  An exec command's input only answers its questions: each
    # prompt takes the next line, and a prompt after the input has ended
    # ends the command.

    def dataReceived(self, data):
        if self._terminal is not None:
            self._terminal.dataReceived(data)
        elif self._lines is not None:
            self._lines.feed(data)
            self._deliver()

    def _deliver(self):
        """
        Take the lines received without a terminal, until they are used up
        or the session pauses input.
        """
        for line in self._lines.lines():
            if line is TOO_LONG:
                self.send(f"That line was too long (over {self._lines.max_bytes} bytes) and was ignored.")
            else:
                self._line(decode_line(line))
        if self._input_ended and not self._lines.paused and self._mode == "shell" and self.session is not None:
            # `ssh -T host < commands`: leave once they have been handled
            # (nothing is read after the end of input).
            self._lines = None
            self.session.line_received("quit")

    def _line(self, text):
        if self._mode == "exec":
            if len(self._early) < self._core.limits.max_pending_lines:
                self._early.append(text)
            self._answer()
        elif self.session is not None:
            self.session.line_received(text)
        elif len(self._early) < self._core.limits.max_pending_lines:
            self._early.append(text)

    def _answer(self):
        """
        Answer the exec command's outstanding prompt, if any, with the next
        line of input, or end the command when the input has ended.
        """
        if not self._asking or self.session is None:
            return
        if self._early:
            self._asking = False
            self.session.line_received(self._early.pop(0))
        elif self._input_ended:
            self._asking = False
            self.session.connection_lost(Failure(ConnectionDone("the input ended before the command's question")))

    def _end_of_input(self):
        if self._mode == "exec":
            self.eofReceived()
        elif self.session is not None:
            self.session.close("Goodbye.")

    def eofReceived(self):
        self._input_ended = True
        if self._mode == "exec":
            self._answer()
        elif self._mode == "shell" and self.session is not None:
            if self._lines is not None:
                self._deliver()
            else:
                self.session.line_received("quit")

    def closed(self):
        self._gone = True
        if self._input_paused:
            # The connection may outlive this channel; what this channel
            # read is not wanted any more.
            self._lines = None
            self.resume_input()
        if self.session is not None:
            session, self.session = self.session, None
            session.connection_lost(Failure(ConnectionDone("SSH channel closed")))

    def write(self, data):
        """
        Send bytes, cutting the connection off instead when more than
        C{max_unsent_bytes} would wait for a client that does not open its
        SSH window (stopped reading).
        """
        if len(self.buf) + len(data) > self.avatar.server.settings.max_unsent_bytes:
            if not self._gone:
                self._gone = True
                self.log.info("{peer} stopped reading; disconnecting", peer=self.capabilities.peer)
                self.conn.transport.sendDisconnect(DISCONNECT_BY_APPLICATION, b"output not being read")
            return
        super().write(data)

    # IInputFlow: pause reading from the connection under SSH.  Every
    # channel of the connection waits with this one (a player has one).

    # Without a terminal, what was read stays in the line buffer meanwhile.

    def pause_input(self):
        self._input_paused = True
        if self._lines is not None:
            self._lines.paused = True
        self.conn.transport.transport.pauseProducing()

    def resume_input(self):
        self._input_paused = False
        if self._lines is not None:
            self._lines.paused = False
            self._deliver()
        if not self._input_paused:
            self.conn.transport.transport.resumeProducing()

    # ISessionTransport

    def send(self, text):
        caps = self.capabilities
        # Folded to the terminal's width; left whole without a terminal
        # (scripts, exec), where nothing knows a width.
        width = caps.wrap_width() if self._pty else 0
        data = encode_line(text, "utf-8", True, width, caps.colour_level())
        if self.editor is not None:
            self.editor.show(data)
        else:
            self.write(data)

    def send_prompt(self, text):
        if self.editor is not None:
            self.editor.set_prompt(markup.strip(text))
        else:
            self.write(encode_line(text, "utf-8", False, 0, self.capabilities.colour_level()))
        if self._mode == "exec":
            # The session waits for the answer once this returns.
            self._asking = True
            self._core.clock.callLater(0, self._answer)

    def set_echo(self, on):
        if self.editor is not None:
            self.editor.set_hidden(not on)

    def close(self, reason=None):
        if reason:
            self.send(reason)
        if self._input_paused:
            # The client's answer to the channel close must be read.
            self.resume_input()
        if self._mode == "shell":
            self._exit(EXIT_OK)
