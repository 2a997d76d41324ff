"""
How a limited connection's output reaches the client, and how much of it
the client leaves unread.

Twisted's socket transports buffer what is written and send it once the
reactor has seen the socket writable: per write a system call asking epoll
to watch the socket, a turn through the reactor's event dispatch when it
reports the socket writable, the send, and a system call to stop watching.
When one line reaches a room of 500, that is 500 times three system calls
and 500 dispatches, and the first listener's copy leaves only after the
last one has been buffered.

L{SocketOutput} holds what is written to a connection during one turn of
the reactor and, when the turn ends (L{Flusher}), sends it straight to the
socket in one system call; a connection that has been written
L{FLUSH_BYTES} or more in the turn is sent what it holds at once, so that
its client reads while the rest of the turn is worked on (a game's flood
relayed to many players).  Only what the kernel does not take at once goes
to the transport, which sends it when the socket is writable; until the
transport reports it has written everything (it asks its pull producer, the
L{SocketOutput}, for more), later output goes the same way, so the order is
kept.  What is written in one turn leaves in one piece, or in pieces of at
least L{FLUSH_BYTES}.

L{TransportOutput} writes through the transport, for transports that are
not a plain socket of their own (TLS started by Twisted, test
transports), what one read makes in one write (L{HeldWrites}).  The TLS
layer holds what a read makes the same way, so that it becomes one TLS
record.

Both count the output a client leaves unread: what is written while the
transport already holds more than its buffer (C{bufferSize}, 64 KiB) of
unsent output, until it has written everything out, is reported to the
connection (L{gateway.frontends.limits.LimitedProtocol.output_unread}),
which cuts it past C{limits.max_output_bytes}.  Both pass pause and resume
on to a push producer the protocol above registered.
"""

from contextlib import contextmanager, nullcontext

from twisted.internet.abstract import FileDescriptor
from twisted.internet.interfaces import IPullProducer, IPushProducer, ISSLTransport
from twisted.logger import Logger
from zope.interface import implementer

#: Held output this large is sent without waiting for the end of the turn:
#: large enough that a system call per piece costs nothing worth saving.
FLUSH_BYTES = 16384


def output_for(connection, transport, flusher):
    """
    The output suited to C{transport}: a L{SocketOutput} for a plain
    socket transport of Twisted's reactors, else a L{TransportOutput}.

    A transport that stands in for a socket transport, changing only what
    it says about the connection (the peer a PROXY header named), names
    that socket transport as its C{socket_transport}: the output then
    writes to it.

    @param connection: the L{gateway.frontends.limits.LimitedProtocol}
        told of unread output.
    @param flusher: the L{Flusher} of the reactor.
    """
    socket = getattr(transport, "socket_transport", transport)
    if isinstance(socket, FileDescriptor) and not ISSLTransport.providedBy(socket):
        return SocketOutput(connection, socket, flusher)
    return TransportOutput(connection, transport)


def _must_be_bytes(data):
    if not isinstance(data, bytes):
        raise TypeError(f"Data must be bytes, not {type(data).__name__}")


class HeldWrites:
    """
    Holds what is written while a read is handled, and writes it in one
    piece when the outermost hold ends.

    @ivar write_through: writes one piece onwards.
    """

    __slots__ = ("write_through", "_held")

    def __init__(self, write_through):
        self.write_through = write_through
        self._held = None

    @contextmanager
    def holding(self):
        """
        Hold writes until the outermost hold ends.
        """
        if self._held is not None:
            yield
            return
        self._held = []
        try:
            yield
        finally:
            self.release()

    def write(self, data):
        if self._held is None:
            self.write_through(data)
        else:
            self._held.append(data)

    def release(self):
        """
        Write what is held now (before a close), and stop holding.
        """
        held, self._held = self._held, None
        if held:
            self.write_through(held[0] if len(held) == 1 else b"".join(held))

    def discard(self):
        """
        Drop what is held (the connection is cut).
        """
        self._held = None


@implementer(IPushProducer)
class TransportOutput:
    """
    Writes through the transport, registered on it as a push producer: the
    transport pauses it when its buffer is full, and what is written from
    then until it resumes is the client's unread output.

    @ivar inner: the push producer of the protocol above, or L{None}.
    """

    __slots__ = ("connection", "transport", "inner", "paused", "_unread", "_held")

    def __init__(self, connection, transport):
        self.connection = connection
        self.transport = transport
        self.inner = None
        self.paused = False
        self._unread = 0
        self._held = HeldWrites(self._write)

    def read_batch(self):
        """
        A context whose writes leave in one piece when it ends: the
        connection handles one read (or its start) in it.
        """
        return self._held.holding()

    def start(self):
        """
        Register on the transport.
        """
        self.transport.registerProducer(self, True)

    def set_inner(self, producer):
        """
        Pass pause and resume on to C{producer} (L{None} for none); it is
        paused at once if the transport's buffer is full.
        """
        self.inner = producer
        if producer is not None and self.paused:
            producer.pauseProducing()

    def write(self, data):
        _must_be_bytes(data)
        self._held.write(data)

    def _write(self, data):
        if self.paused:
            self._unread += len(data)
            self.connection.output_unread(self._unread)
        self.transport.write(data)

    def close(self):
        """
        The connection is closing (or half-closing, or starting TLS): write
        what is held, and unregister, as a transport does not close while
        a paused producer is registered.
        """
        self._held.release()
        self.transport.unregisterProducer()

    def discard(self):
        """
        The connection is cut: drop what is held.
        """
        self._held.discard()

    def pauseProducing(self):
        self.paused = True
        if self.inner is not None:
            self.inner.pauseProducing()

    def resumeProducing(self):
        self.paused = False
        self._unread = 0
        if self.inner is not None:
            self.inner.resumeProducing()

    def stopProducing(self):
        if self.inner is not None:
            self.inner.stopProducing()


@implementer(IPullProducer)
class SocketOutput:
    """
    Holds a turn's writes and sends them to the socket when the turn ends;
    see the module docstring.  Registered on the transport as a pull
    producer, so the transport says when it has written all it was given.

    @ivar inner: the push producer of the protocol above, or L{None}.
    @ivar holding: whether writes are held for the end of the turn (until
        the connection closes or starts TLS).
    @ivar queued: bytes given to the transport that it has not written yet.
    """

    __slots__ = (
        "connection", "transport", "flusher", "inner", "holding", "queued", "_unread", "_held", "_held_bytes",
        "_inner_paused",
    )

    def __init__(self, connection, transport, flusher):
        self.connection = connection
        self.transport = transport
        self.flusher = flusher
        self.inner = None
        self.holding = True
        self.queued = 0
        self._unread = 0
        self._held = []
        self._held_bytes = 0
        self._inner_paused = False

    def start(self):
        """
        Register on the transport (which asks for output at once: it holds
        nothing yet).
        """
        self.transport.registerProducer(self, False)

    def read_batch(self):
        """
        A context for one read: everything written in the reactor's turn
        is held already.
        """
        return nullcontext()

    def set_inner(self, producer):
        """
        Pass pause and resume on to C{producer} (L{None} for none); it is
        paused at once if the transport's buffer is full.
        """
        self.inner = producer
        self._inner_paused = False
        self._pause_inner()

    def write(self, data):
        _must_be_bytes(data)
        if not data:
            return
        if not self.holding:
            self._queue(data)
            return
        if not self._held:
            self.flusher.due(self)
        self._held.append(data)
        self._held_bytes += len(data)
        if self._held_bytes >= FLUSH_BYTES:
            self.flush()

    def flush(self):
        """
        Send what is held: by the fast path (L{send_to_socket}) while the
        transport holds nothing, the rest through the transport.
        """
        held = self._held
        if not held:
            return
        data = held[0] if len(held) == 1 else b"".join(held)
        self._held = []
        self._held_bytes = 0
        if not self.queued and self.transport.connected and not ISSLTransport.providedBy(self.transport):
            data = self.send_to_socket(data)
            if not data:
                return
        self._queue(data)

    def send_to_socket(self, data):
        """
        The fast path: C{data} straight to the socket in one system call,
        bypassing the transport's buffer and the reactor's write events.

        @return: what the socket did not take, for the transport to send.
        @rtype: L{bytes}
        """
        try:
            sent = self.transport.getHandle().send(data)
        except OSError:
            # Full (EAGAIN, ENOBUFS) or broken: the transport sends it
            # when it can, or finds the error and closes.
            sent = 0
        return data[sent:]

    def _queue(self, data):
        full = self.queued > self.transport.bufferSize
        self.queued += len(data)
        self.transport.write(data)
        if full:
            self._unread += len(data)
            self.connection.output_unread(self._unread)
        self._pause_inner()

    def _pause_inner(self):
        if self.inner is not None and not self._inner_paused and self.queued > self.transport.bufferSize:
            self._inner_paused = True
            self.inner.pauseProducing()

    def close(self):
        """
        The connection is closing (or half-closing, or starting TLS: the
        transport then encrypts what it is given, which the socket must not
        bypass): send what is held, write through the transport from now on,
        and unregister, as a transport does not close while a producer is
        registered.
        """
        self.flush()
        self.holding = False
        self.transport.unregisterProducer()

    def discard(self):
        """
        The connection is cut: drop what is held.
        """
        self._held = []
        self._held_bytes = 0
        self.holding = False

    def resumeProducing(self):
        # The transport has written everything it was given.
        self.queued = self._unread = 0
        if self._inner_paused:
            self._inner_paused = False
            if self.inner is not None:
                self.inner.resumeProducing()

    def stopProducing(self):
        self.discard()
        if self.inner is not None:
            self.inner.stopProducing()


class Flusher:
    """
    Flushes every L{SocketOutput} that holds something, once per turn of
    the reactor: at the next C{callLater(0)}, which the reactor runs as
    soon as it has dispatched the events of the current turn.
    """

    log = Logger()

    def __init__(self, clock):
        """
        @param clock: the reactor, as an L{twisted.internet.interfaces.IReactorTime}.
        """
        self.clock = clock
        self._due = []
        self._call = None

    def due(self, output):
        """
        Flush C{output} at the end of this turn.
        """
        self._due.append(output)
        if self._call is None:
            self._call = self.clock.callLater(0, self._flush)

    def _flush(self):
        self._call = None
        due, self._due = self._due, []
        for output in due:
            try:
                output.flush()
            except Exception:
                self.log.failure("Sending output to {peer} failed", peer=output.transport.getPeer())
