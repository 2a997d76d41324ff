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
from gateway.frontends.base import LineFrontend
from gateway.frontends.ssh.editor import LineEditor
from gateway.frontends.text import decode_line, encode_line
from gateway.interfaces import IOutputFlow
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


class OutputHold:
    """
    Pauses a push producer while any reason to hold output stands and
    resumes it once none does.

    @ivar producer: the L{twisted.internet.interfaces.IPushProducer}.
    @ivar reasons: the names of the reasons standing.
    """

    def __init__(self, producer):
        self.producer = producer
        self.reasons = set()

    def hold(self, reason):
        """
        Pause the producer for C{reason} (a L{str}), unless already held.
        """
        if not self.reasons:
            self.producer.pauseProducing()
        self.reasons.add(reason)

    def release(self, reason):
        """
        Drop C{reason}; resume the producer when it was the last one.
        """
        if reason in self.reasons:
            self.reasons.discard(reason)
            if not self.reasons:
                self.producer.resumeProducing()


@implementer(IOutputFlow)
class SessionChannel(LineFrontend, SSHChannel):
    """
    One C{session} channel of an authenticated connection.

    Output flow (L{IOutputFlow}): the producer registered is paused while
    the client's window for this channel is full (conch calls
    L{stopWriting} and, once the client has read and opened the window
    again, L{startWriting}) and while the connection below holds more
    output than it buffers (the L{ServerTransport} tells its channels).

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
        self.editor = None
        self._terminal = None
        self._mode = None
        self._pty = False
        self._gone = False
        self._answers = []
        self._asking = False
        self._input_ended = False
        self._output_hold = None

    def channelOpen(self, specificData):
        transport = self.conn.transport
        self.capabilities = Capabilities(
            protocol="ssh", secure=True, ansi=False,
            peer=describe(transport.transport.getPeer()),
            client=client_name(transport.otherVersionString or b""),
        )

    @property
    def core(self):
        """
        The listener's L{gateway.interfaces.IGatewayCore}.
        """
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
        # Lines sent with the request (`ssh -T host < commands`) wait in
        # the line buffer until the session has started.
        self._start_input()
        # Start once the reply to this request has gone out.
        self.core.clock.callLater(0, self._start_shell)
        return 1

    def _start_input(self):
        """
        Read input through the line editor when there is a terminal, as
        plain lines otherwise.
        """
        if self._pty:
            core = self.core  # not self: the editor must not point back here

            def max_chars():
                return core.limits.max_line_bytes

            self._terminal = ServerProtocol(LineEditor, self.line_arrived, self._end_of_input, max_chars)
            self._terminal.makeConnection(self)
            self.editor = self._terminal.terminalProtocol
            self.editor.width = self.capabilities.width
        else:
            self.buffer_lines()

    def _start_shell(self):
        if self._gone:
            return
        # Takes the lines held, then leaves if the input has ended.
        waited = self._input_paused
        self.session_started(self.core.connect(self, self.avatar.account))
        if not waited and self._input_ended:
            self._input_ended = False
            self.eofReceived()

    def request_exec(self, data):
        if self._mode is not None:
            return 0
        command = decode_line(getNS(data)[0])
        self._mode = "exec"
        self._start_input()
        self.core.clock.callLater(0, self._start_exec, command)
        return 1

    def _start_exec(self, command):
        if self._gone:
            return
        account = self.avatar.account
        if account is None and self.core.accounts:
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
        session, done = self.core.execute(self, account, command)
        self.session_started(session)
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
        elif self.lines is not None:
            self.data_received(data)

    def deliver(self):
        super().deliver()
        if self._input_ended and not self.lines.paused and self._mode == "shell":
            # `ssh -T host < commands`: leave once they have been handled
            # (nothing is read after the end of input).
            self.lines = None
            self.session.input_ended()

    def handle_line(self, text):
        if self._mode == "exec":
            if len(self._answers) < self.core.limits.max_pending_lines:
                self._answers.append(text)
            self._answer()
        else:
            self.session.line_received(text)

    def _answer(self):
        """
        Answer the exec command's outstanding prompt, if any, with the next
        line of input, or end the command when the input has ended.
        """
        if not self._asking or self.session is None:
            return
        if self._answers:
            self._asking = False
            self.session.line_received(self._answers.pop(0))
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
            if self.lines is not None:
                self.deliver()
            else:
                self.session.input_ended()

    def closed(self):
        self._gone = True
        # The connection may outlive this channel; what this channel read
        # is not wanted any more.
        self.lines = None
        if self._input_paused:
            self.resume_input()
        self.end_session(Failure(ConnectionDone("SSH channel closed")))

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

    # IOutputFlow

    def register_output_producer(self, producer):
        self.unregister_output_producer()
        self._output_hold = OutputHold(producer)
        if not self.areWriting:
            self._output_hold.hold("window")
        if self.conn.transport.output_paused:
            self._output_hold.hold("connection")

    def unregister_output_producer(self):
        self._output_hold = None

    def stopWriting(self):
        if self._output_hold is not None:
            self._output_hold.hold("window")

    def addWindowBytes(self, data):
        # conch calls startWriting before it sends what waited for the
        # window, which may fill it again: resume only once that is sent.
        super().addWindowBytes(data)
        if self.areWriting and self._output_hold is not None:
            self._output_hold.release("window")

    def connection_output_paused(self, paused):
        """
        The connection below holds more output than it buffers (C{paused}
        true), or has written it out (false).
        """
        if self._output_hold is None:
            return
        if paused:
            self._output_hold.hold("connection")
        else:
            self._output_hold.release("connection")

    def input_producer(self):
        # Under SSH: every channel of the connection waits with this one
        # (a player has one).
        return self.conn.transport.transport

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
            self.core.clock.callLater(0, self._answer)

    def set_echo(self, on):
        if self.editor is not None:
            self.editor.set_hidden(not on)

    def disconnect(self):
        if self._mode == "shell":
            self._exit(EXIT_OK)
