"""
Coalescing the text a burst of input sends to each session.
"""

from contextlib import contextmanager


class Outbox:
    """
    Holds back what is sent to sessions while a batch is open, and sends
    each session's text as one piece when the outermost batch closes.

    A frontend opens a batch around the lines of one read from its client
    (see L{batch}), so when a paste of a hundred C{say} lines reaches a room
    of five hundred, each listener's frontend gets one call with a hundred
    lines instead of a hundred calls: one write, one system call.  Outside a
    batch text goes straight through.  The order of everything a session
    is sent is kept: a session's held text is flushed (L{flush}) before its
    prompt, echo change or close reaches the frontend.

    @ivar _depth: how many batches are open (they nest).
    @ivar _held: session to the texts held for it, in the order sessions
        were first sent something.
    """

    def __init__(self):
        self._depth = 0
        self._held = {}

    @contextmanager
    def batch(self):
        """
        A context in which text sent to sessions is held; on leaving the
        outermost one every session with held text gets it, joined by
        newlines, in one L{gateway.interfaces.ISessionTransport.send}.
        """
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if not self._depth:
                held, self._held = self._held, {}
                for session, texts in held.items():
                    session.deliver("\n".join(texts))

    def send(self, session, text):
        """
        Send C{text} to C{session} now, or when the batch closes.
        """
        if not self._depth:
            session.deliver(text)
            return
        held = self._held.get(session)
        if held is None:
            self._held[session] = [text]
        else:
            held.append(text)

    def flush(self, session):
        """
        Deliver what is held for C{session} now, ahead of whatever the
        caller is about to do with its transport.
        """
        held = self._held.pop(session, None)
        if held:
            session.deliver("\n".join(held))
