"""
The structured message format of the WebSocket client (and of any frontend
that speaks JSON objects instead of bare lines, such as the JSON-lines
example plugin).

Each message is one JSON object with a C{"type"}.  The server sends::

    {"type": "text", "text": "lines\\nof output"}    game output (may hold ANSI SGR)
    {"type": "prompt", "text": "Name: "}           show without a line break
    {"type": "data", "package": "Room.Info",       structured data next to the text
     "data": {"name": "...", "exits": [...]}}      (the GMCP packages of docs/protocols.md)
    {"type": "echo", "on": false}                  hide input (password) / show again
    {"type": "close", "reason": "Goodbye."}        the last message before closing
    {"type": "error", "text": "..."}               a message the server could not use
    {"type": "resume", "name": "Alice",            after a login: the token that resumes
     "token": "..."}                               this session (see below)

and accepts::

    {"type": "line", "text": "say hello"}          one line of input
    {"type": "size", "width": 80, "height": 24}    the client's screen in characters
    {"type": "data", "package": "Char.Items.Inv",  a structured message for a game behind
     "data": {...}}                                an upstream listener (GMCP)
    {"type": "resume", "name": "Alice",            instead of logging in: resume the session
     "token": "..."}                               an earlier connection was given the token of

A resume the server refuses is answered with an C{error} message, and the
login dialogue carries on.
"""

import json
from functools import lru_cache

from gateway.core import markup
from gateway.frontends.base import TOO_LONG_MESSAGE
from gateway.frontends.text import clean_text, strict_json
from gateway.interfaces import IStructuredInput

#: The largest screen size a client may report, in characters.
MAX_SIZE = 1000


class MessageError(ValueError):
    """
    A client message is not valid; the text says why, for the client.
    """


class LineTooLong(MessageError):
    """
    A client message holds a line over the length limit; the text is
    L{gateway.frontends.base.TOO_LONG_MESSAGE}.
    """


def _encode(message):
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=1024)
def text_message(text, colours=markup.NO_COLOUR):
    """
    Game output, its markup rendered as ANSI for C{colours} (or removed).
    Cached, so a broadcast encodes each distinct text once.

    @param colours: a L{gateway.core.markup} colour level.
    @rtype: L{str}
    """
    return _encode({"type": "text", "text": markup.render(text, colours)})


def prompt_message(text, colours=markup.NO_COLOUR):
    """
    @param colours: a L{gateway.core.markup} colour level.
    @rtype: L{str}
    """
    return _encode({"type": "prompt", "text": markup.render(text, colours)})


def data_message(package, data):
    """
    A structured message (see L{gateway.interfaces.IStructuredTransport}).

    @rtype: L{str}
    """
    return _encode({"type": "data", "package": package, "data": data})


def echo_message(on):
    """
    @param on: C{False} while the client should hide what is typed.
    @rtype: L{str}
    """
    return _encode({"type": "echo", "on": bool(on)})


def close_message(reason):
    """
    @type reason: L{str} or L{None}
    @rtype: L{str}
    """
    return _encode({"type": "close", "reason": reason or ""})


def error_message(text):
    """
    @rtype: L{str}
    """
    return _encode({"type": "error", "text": text})


def resume_message(name, token):
    """
    The token that resumes the session of account C{name} (see
    L{gateway.interfaces.IResumableTransport}).

    @rtype: L{str}
    """
    return _encode({"type": "resume", "name": name, "token": token})


def _size(message, key):
    value = message.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_SIZE:
        raise MessageError(f"a size message needs {key} between 1 and {MAX_SIZE}")
    return value


def deliver_lines(text, session, max_bytes):
    """
    Pass each line of received text to the session, control characters
    dropped; text with a line longer than C{max_bytes} is refused whole.

    @type text: L{str}
    @param session: the L{gateway.interfaces.ISession}.
    @param max_bytes: the longest line allowed, in UTF-8 bytes.
    @raise LineTooLong: when a line is too long; nothing was passed on.
    @raise MessageError: when a line holds an unpaired
        surrogate; nothing was passed on.
    """
    lines = text.splitlines() or [""]
    try:
        sizes = [len(line.encode("utf-8")) for line in lines]
    except UnicodeEncodeError:
        raise MessageError("text may not hold unpaired surrogates (\\ud800 to \\udfff)")
    if any(size > max_bytes for size in sizes):
        raise LineTooLong(TOO_LONG_MESSAGE.format(limit=max_bytes))
    for line in lines:
        session.line_received(clean_text(line))


def deliver(raw, session, capabilities, max_line_bytes, resumable=False):
    """
    Act on one client message: pass a line to the session, record a
    screen size in the capabilities and tell the session, or ask the
    session to resume with a token.

    @param raw: the message as received.
    @type raw: L{str}
    @param session: the L{gateway.interfaces.ISession}.
    @param capabilities: the client's L{gateway.core.capabilities.Capabilities}.
    @param max_line_bytes: the longest input line allowed, in bytes.
    @param resumable: whether this connection may resume a session with a
        token.
    @raise MessageError: when the message is not valid JSON or not one of
        the client messages, or a resume was refused; nothing has changed.
    """
    try:
        message = strict_json(raw)
    except RecursionError:
        raise MessageError("messages may not be nested that deeply")
    except ValueError:
        raise MessageError("messages must be JSON objects")
    if not isinstance(message, dict):
        raise MessageError("messages must be JSON objects")
    kind = message.get("type")
    if kind == "line":
        text = message.get("text")
        if not isinstance(text, str):
            raise MessageError("a line message needs a text string")
        deliver_lines(text, session, max_line_bytes)
    elif kind == "size":
        width, height = _size(message, "width"), _size(message, "height")
        capabilities.width, capabilities.height = width, height
        session.capabilities_changed()
    elif kind == "data":
        package = message.get("package")
        if not isinstance(package, str) or not package.isprintable() or not 0 < len(package) <= 128:
            raise MessageError("a data message needs a package name of at most 128 printable characters")
        if not IStructuredInput.providedBy(session):
            raise MessageError("data messages are not taken here")
        session.data_received(package, message.get("data"))
    elif kind == "resume":
        name, token = message.get("name"), message.get("token")
        if not isinstance(name, str) or not isinstance(token, str):
            raise MessageError("a resume message needs name and token strings")
        if not resumable:
            raise MessageError("sessions are resumed only from the web client's own page")
        if not session.resume_with_token(name, token):
            raise MessageError("your session could not be resumed; please log in")
    else:
        raise MessageError(f"unknown message type {kind!r} (expected 'line', 'size', 'data' or 'resume')")
