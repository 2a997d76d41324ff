"""
The WebSocket frontend (RFC 6455, on autobahn) and the browser client,
served together by C{twisted.web} on one port: the page at C{/}, the
socket at C{/ws}.

A client picks its message format with the WebSocket subprotocol:

  - C{gateway.json} (what the web client uses): every frame is one JSON
    message of L{gateway.frontends.messages}, which carries prompts,
    password masking and close reasons besides the game's lines;
  - C{gateway.text}, or no subprotocol: every text frame is game text, one
    or more lines each way, for simple scripts and generic tools.

Browsers are held to the page's own origin (or the listener's
C{allowed_origins}), every handshake to a C{Host} the listener serves
(C{host_names}: loopback names unless set, which keeps a DNS-rebinding page
away from a loopback-only listener); an HTTP request head must arrive
within C{handshake_timeout}, however slowly it trickles in; a frame larger than C{max_message_bytes} closes the
connection with code 1009; pings keep idle connections alive and find dead
ones.

Behind a reverse proxy that terminates TLS (nginx, Caddy, HAProxy in HTTP
mode), a handshake from one of the listener's C{trusted_proxies} is taken
at its word (L{gateway.frontends.forwarded}): the client's address it
names is the session's peer and what the per-address limits count, and
C{proto=https} makes the connection secure for the origin check, the
C{secure} capability and resume tokens.
"""

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import ISSLTransport
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.http import HTTPChannel
from twisted.web.server import Request, Site
from twisted.web.static import File
from zope.interface import implementer

try:
    from autobahn.twisted.resource import WebSocketResource
    from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
    from autobahn.websocket.types import ConnectionDeny
except ImportError as e:
    raise ImportError(
        f"{e}; the websocket frontend needs autobahn: pip install 'gateway[websocket]' "
        f"or apt install python3-autobahn"
    ) from e

from gateway.config import at_least, build_settings, networks, one_of, positive, setting
from gateway.core import markup
from gateway.core.throttle import Trusted
from gateway.frontends import messages
from gateway.frontends.addresses import describe, host_of
from gateway.frontends.forwarded import Forwarding, forwarding
from gateway.frontends.base import LineFrontend, capabilities_of
from gateway.frontends.text import clean_text
from gateway.interfaces import (
    IClearTextAnswer, IForwardingFactory, IOutputFlow, IReaddressable, IRefusingFactory, IResumableTransport,
    IStructuredTransport,
)
from gateway.logtext import loggable

log = Logger()

JSON, TEXT = "gateway.json", "gateway.text"

#: The web client's files, served at the root of the listener.
WEB_CLIENT = Path(__file__).resolve().parent.parent / "data" / "web"

_DEFAULT_PORTS = {"http": 80, "https": 443}

#: Headers on every page of the web client: it may only talk to the
#: server it came from and may not be framed by another site.
SECURITY_HEADERS = {
    b"Content-Security-Policy": (
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    b"X-Content-Type-Options": b"nosniff",
    b"Referrer-Policy": b"no-referrer",
}


def normalize_origin(origin):
    """
    An origin in canonical form: lower case, default port dropped, IPv6
    hosts in brackets.

    @type origin: L{str}
    @return: C{"scheme://host[:port]"}, or L{None} when C{origin} is not
        an http(s) origin.
    """
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}"
    return f"{parts.scheme}://{host}:{port}"


def origin_allowed(origin, host, secure, allowed):
    """
    Whether a handshake's C{Origin} may open a socket.

    A request without an C{Origin} (or an empty one) is not from a browser
    page and is allowed; a browser page is allowed when it was served by this listener
    (its origin is the C{Host} it asked for, with the scheme of this
    connection) or its origin is in C{allowed} (C{"*"} allows any).

    @param origin: the C{Origin} header, or L{None} or C{""} without one.
    @param host: the C{Host} header.
    @param secure: whether the connection is TLS.
    @param allowed: the listener's normalized C{allowed_origins}.
    @rtype: L{bool}
    """
    if not origin:
        return True
    if "*" in allowed:
        return True
    origin = normalize_origin(origin)
    if origin is None:
        return False
    return origin in allowed or origin == normalize_origin(f"{'https' if secure else 'http'}://{host}")


#: The host names a listener serves unless its C{host_names} says otherwise.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def host_allowed(host, names):
    """
    Whether a handshake's C{Host} header names this listener.

    @param host: the C{Host} header, C{name[:port]} (IPv6 addresses in
        brackets).
    @param names: the listener's lower-case C{host_names} (C{"*"} allows
        any).
    @rtype: L{bool}
    """
    if "*" in names:
        return True
    try:
        parts = urlsplit(f"//{host.strip()}")
        # Reading the port refuses one that is not a number.
        name, _port = parts.hostname, parts.port
    except ValueError:
        return False
    return name is not None and name.rstrip(".") in names


def _host_names(value):
    if not all(isinstance(item, str) and item and not any(c in item for c in "/[]@ ") for item in value):
        return "a list of host names like 'play.example.org' or addresses like '::1' (or '*' for any)"


def _origins(value):
    if not all(isinstance(item, str) and (item == "*" or normalize_origin(item)) for item in value):
        return "a list of origins like 'https://play.example.org' (or '*' for any)"


@dataclass(frozen=True)
class WebSocketOptions:
    """
    The C{options} table of a websocket listener.

    @ivar allowed_origins: browser origins besides the page's own that may
        connect (C{"*"} for any).
    @ivar host_names: the names clients reach this listener by, as sent in
        the C{Host} header (C{"*"} for any).
    @ivar max_message_bytes: the largest frame or message a client may
        send; a larger one closes the connection (code 1009).
    @ivar ping_interval: seconds between keepalive pings (0: none).
    @ivar ping_timeout: seconds to wait for a pong before dropping the
        connection.
    @ivar handshake_timeout: seconds a client has to finish the opening
        handshake or send an HTTP request head, and an HTTP connection may
        sit idle.
    @ivar web_client: whether to serve the browser client at C{/}.
    @ivar trusted_proxies: addresses or networks of reverse proxies whose
        forwarding headers are believed.
    @ivar forwarded_header: the header those proxies write:
        C{"x-forwarded-for"} (with C{X-Forwarded-Proto}) or
        C{"forwarded"} (RFC 7239).
    """

    allowed_origins: list = setting([], _origins)
    host_names: list = setting(list(LOOPBACK_NAMES), _host_names)
    max_message_bytes: int = setting(8192, at_least(64))
    ping_interval: float = setting(30.0, at_least(0))
    ping_timeout: float = setting(15.0, positive)
    handshake_timeout: float = setting(10.0, positive)
    web_client: bool = setting(True)
    trusted_proxies: list = setting([], networks)
    forwarded_header: str = setting("x-forwarded-for", one_of("x-forwarded-for", "forwarded"))


@lru_cache(maxsize=1024)
def _payload(text):
    """
    The UTF-8 payload of an outgoing message, cached so a broadcast
    encodes each distinct message once.
    """
    return text.encode("utf-8")


@implementer(IStructuredTransport, IResumableTransport, IOutputFlow)
class WebSocketFrontend(LineFrontend, WebSocketServerProtocol):
    """
    Adapts a WebSocket connection to a core session.

    Resume tokens (L{IResumableTransport}) go only to C{gateway.json}
    clients on a page of the listener's own origin, and only such a
    connection may resume with one: a page of another origin, even one in
    C{allowed_origins}, and a client without an C{Origin} neither get nor
    use them.

    Output flow (L{IOutputFlow}): the producer registered is paused while
    the connection below the socket holds more output than it buffers
    (the HTTP channel that was its producer has handed the connection
    over).

    @ivar structured: whether the client chose C{gateway.json}.
    @ivar same_origin: whether the handshake came from a page of this
        listener's own origin.
    """

    protocol_name = "websocket"

    def __init__(self, core, allowed, hosts, proxies=Trusted([]), header="x-forwarded-for"):
        """
        @param core: the L{gateway.interfaces.IGatewayCore}.
        @param allowed: the listener's normalized C{allowed_origins}.
        @param hosts: the listener's lower-case C{host_names}.
        @param proxies: the listener's C{trusted_proxies}, a
            L{gateway.core.throttle.Trusted}.
        @param header: the listener's C{forwarded_header}.
        """
        super().__init__()
        self.core = core
        self.allowed = allowed
        self.hosts = hosts
        self.proxies = proxies
        self.header = header
        self.structured = False
        self.same_origin = False

    def onConnect(self, request):
        forwarded = self._forwarding(request.headers)
        peer = describe(self.transport.getPeer()) if forwarded.address is None else forwarded.peer()
        secure = ISSLTransport.providedBy(self.transport) if forwarded.secure is None else forwarded.secure
        host = request.headers.get("host", "")
        if not host_allowed(host, self.hosts):
            log.info(
                "Refused a WebSocket from {peer}: host {host!r} is not in the listener's host_names",
                peer=peer, host=clean_text(host)[:80],
            )
            raise ConnectionDeny(ConnectionDeny.FORBIDDEN, "This host name is not served here.")
        if not origin_allowed(request.origin, host, secure, self.allowed):
            log.info(
                "Refused a WebSocket from {peer}: origin '{origin}' is not allowed",
                peer=peer, origin=loggable(request.origin or ""),
            )
            raise ConnectionDeny(ConnectionDeny.FORBIDDEN, "This origin may not connect.")
        if forwarded.address is not None:
            self._readdress(str(forwarded.address))
        self.structured = JSON in request.protocols
        own = normalize_origin(f"{'https' if secure else 'http'}://{host}")
        self.same_origin = bool(request.origin) and normalize_origin(request.origin) == own
        # The web client renders 24-bit colour and takes structured data.
        self.capabilities = capabilities_of(
            self.transport, self.protocol_name, ansi=self.structured,
            xterm256=self.structured, truecolor=self.structured, structured=self.structured,
            client=clean_text(request.headers.get("user-agent", ""))[:80],
        )
        self.capabilities.peer, self.capabilities.secure = peer, secure
        if self.structured:
            return JSON
        return TEXT if TEXT in request.protocols else None

    def _forwarding(self, headers):
        """
        What a trusted proxy's forwarding headers say about the client: an
        empty L{Forwarding} when there are none or the peer is not a
        trusted proxy (logged at debug); what cannot be read is logged and
        left out.
        """
        if not any(name in headers for name in ("forwarded", "x-forwarded-for", "x-forwarded-proto")):
            return Forwarding()
        proxy = describe(self.transport.getPeer())
        if host_of(self.transport.getPeer()) not in self.proxies:
            log.debug("Ignored the forwarding headers from {peer}, which is not in the listener's trusted_proxies",
                      peer=proxy)
            return Forwarding()
        result = forwarding(headers, self.proxies, self.header)
        for problem in result.problems:
            log.info("Ignored a forwarding header from {peer}: {why}", peer=proxy, why=loggable(problem))
        return result

    def _readdress(self, host):
        """
        Have the limits count this connection under C{host}, the client a
        trusted proxy forwards.

        @raise ConnectionDeny: when the per-address limits refuse it.
        """
        transport = self.transport
        while transport is not None and not IReaddressable.providedBy(transport):
            # Through a TLS wrapper to the limits below it.
            transport = getattr(transport, "transport", None)
        message = None if transport is None else transport.readdress(host)
        if message is not None:
            raise ConnectionDeny(ConnectionDeny.SERVICE_UNAVAILABLE, message)

    def onOpen(self):
        self.session_started(self.core.connect(self))

    def onMessage(self, payload, isBinary):
        if self.session is None or self.ending:
            return
        if isBinary:
            self._error("binary messages are not supported; send text")
            return
        text = payload.decode("utf-8")
        max_bytes = self.core.limits.max_line_bytes
        try:
            if self.structured:
                messages.deliver(text, self.session, self.capabilities, max_bytes, self.same_origin)
            else:
                messages.deliver_lines(text, self.session, max_bytes)
        except messages.LineTooLong as e:
            # Told the way every frontend tells it.
            self.session.send(str(e))
        except messages.MessageError as e:
            self._error(str(e))

    def onClose(self, wasClean, code, reason):
        error = ConnectionDone if wasClean else ConnectionLost
        self.end_session(Failure(error(f"WebSocket closed with code {code}")))

    def _send_text(self, text):
        if not self.ending:
            self.sendMessage(_payload(text), isBinary=False)

    def _error(self, text):
        self._send_text(messages.error_message(text) if self.structured else f"Ignored: {text}.")

    # ISessionTransport

    def send(self, text):
        if self.structured:
            self._send_text(messages.text_message(text, self.capabilities.colour_level()))
        else:
            self._send_text(markup.strip(text))

    def send_prompt(self, text):
        if self.structured:
            self._send_text(messages.prompt_message(text, self.capabilities.colour_level()))
        else:
            self._send_text(markup.strip(text))

    def send_data(self, package, data):
        self._send_text(messages.data_message(package, data))

    def resume_token(self, name, token):
        if self.structured and self.same_origin:
            self._send_text(messages.resume_message(name, token))

    def set_echo(self, on):
        if self.structured:
            self._send_text(messages.echo_message(on))

    def farewell(self, reason):
        if self.structured:
            self._send_text(messages.close_message(reason))
        elif reason:
            self._send_text(reason)

    def disconnect(self):
        self.sendClose(code=1000)


class _StaticFile(File):
    """
    A file of the web client, sent with L{SECURITY_HEADERS}.
    """

    def render_GET(self, request):
        for name, value in SECURITY_HEADERS.items():
            request.setHeader(name, value)
        return super().render_GET(request)


class BoundedRequest(Request):
    """
    A request whose body may be at most L{MAX_BODY} bytes: the web client
    and the socket only need GET, and C{twisted.web} would otherwise store
    a body of any size.  A client sending more is disconnected.
    """

    MAX_BODY = 16384

    def gotLength(self, length):
        self._body_bytes = 0
        super().gotLength(length)

    def handleContentChunk(self, data):
        self._body_bytes += len(data)
        if self._body_bytes > self.MAX_BODY:
            if not self.transport.disconnecting:
                log.info("Disconnected {peer}: HTTP request body over {limit} bytes",
                         peer=describe(self.getClientAddress()), limit=self.MAX_BODY)
                self.transport.loseConnection()
            return
        super().handleContentChunk(data)


class HeadDeadlineChannel(HTTPChannel):
    """
    An HTTP connection that must send each request head (request line and
    headers) within the site's timeout from its start, however slowly the
    bytes trickle in: the idle timeout alone restarts on every byte.
    """

    _head_timer = None

    def connectionMade(self):
        super().connectionMade()
        self._start_head_deadline()

    def allHeadersReceived(self):
        self._stop_head_deadline()
        super().allHeadersReceived()

    def requestDone(self, request):
        super().requestDone(request)
        self._start_head_deadline()

    def connectionLost(self, reason):
        self._stop_head_deadline()
        super().connectionLost(reason)

    def _start_head_deadline(self):
        self._stop_head_deadline()
        self._head_timer = self.callLater(self.timeOut, self._head_expired)

    def _stop_head_deadline(self):
        if self._head_timer is not None and self._head_timer.active():
            self._head_timer.cancel()
        self._head_timer = None

    def _head_expired(self):
        self._head_timer = None
        log.info("Cut {peer}: its HTTP request head took over {timeout} seconds",
                 peer=describe(self.transport.getPeer()), timeout=self.timeOut)
        self.transport.abortConnection()


class _HTTPRefusal(Protocol):
    """
    Turns an HTTP client away with a C{503} response carrying the reason.
    """

    def __init__(self, message):
        self.message = message

    def connectionMade(self):
        body = f"{self.message}\n".encode("utf-8")
        self.transport.write(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )
        self.transport.loseConnection()


#: The start of a plain HTTP request: its method and path.
_PLAIN_REQUEST = re.compile(rb"[A-Z]{3,7} (/[!-~]*) ")
#: Its C{Host} header, when it is a plain host name or address and port.
_PLAIN_HOST = re.compile(rb"\r\nhost:[ \t]*([a-z0-9.\-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?[ \t]*\r\n", re.I)


def https_redirect(data):
    """
    The answer to a plain HTTP request sent to a listener that serves
    HTTPS: a temporary redirect to the same address over C{https://}, or,
    when the request names no usable host, a C{400} saying to use
    C{https://}.

    @param data: the client's first bytes.
    @return: the response (L{bytes}), or L{None} when C{data} is not an
        HTTP request.
    """
    request = _PLAIN_REQUEST.match(data)
    if request is None:
        return None
    host = _PLAIN_HOST.search(data)
    if host is None:
        body = b"This address serves HTTPS only: use https:// in the address.\n"
        head = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
    else:
        location = b"https://" + host.group(1) + (host.group(2) or b"") + request.group(1)
        body = b"This address serves HTTPS only: " + location + b"\n"
        head = b"HTTP/1.1 307 Temporary Redirect\r\nLocation: " + location + b"\r\nContent-Type: text/plain; charset=utf-8\r\n"
    return head + b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)


@implementer(IRefusingFactory, IClearTextAnswer, IForwardingFactory)
class WebSite(Site):
    """
    The web site of a websocket listener.  Its byte stream is HTTP, then
    WebSocket frames, so the connection limits may not write plain text
    into it (L{IRefusingFactory}): a refused client gets an HTTP 503, and
    a connection whose protocol failed is closed without a word.  On a
    listener with C{tls = true}, a plain HTTP request is sent to
    C{https://} (L{IClearTextAnswer}).  The listener's C{trusted_proxies}
    are exempt from the per-address limits (L{IForwardingFactory}).
    """

    protocol = HeadDeadlineChannel
    trusted_proxies = ()

    def refuse(self, address, message):
        return _HTTPRefusal(message)

    def answer_in_clear(self, data):
        return https_redirect(data)


def build_site(factory, clock, web_client=True, timeout=60):
    """
    The web resources of a websocket listener: the socket at C{/ws} and,
    when C{web_client} is set, the files of L{WEB_CLIENT} at the root.

    @param clock: the L{twisted.internet.interfaces.IReactorTime} for the
        HTTP timeouts.
    @param timeout: seconds an HTTP connection may sit idle, and a client
        has to send a request head.
    @rtype: L{WebSite}
    """
    root = Resource()
    root.putChild(b"ws", WebSocketResource(factory))
    if web_client:
        root.putChild(b"", _StaticFile(str(WEB_CLIENT / "index.html")))
        for path in sorted(WEB_CLIENT.iterdir()):
            if path.is_file() and path.name != "index.html":
                root.putChild(path.name.encode("ascii"), _StaticFile(str(path)))
    return WebSite(root, requestFactory=BoundedRequest, timeout=timeout, reactor=clock)


def build_factory(core, portal, options):
    """
    The factory for a websocket listener (see
    L{gateway.interfaces.IFrontendPlugin.getFactory}): a L{Site} serving the
    web client and the socket.
    """
    settings = build_settings(WebSocketOptions, options, "options")
    allowed = frozenset("*" if item == "*" else normalize_origin(item) for item in settings.allowed_origins)
    hosts = frozenset(name.lower().rstrip(".") for name in settings.host_names)
    factory = WebSocketServerFactory(server="gateway", protocols=[JSON, TEXT])
    proxies = Trusted(settings.trusted_proxies)
    factory.protocol = lambda: WebSocketFrontend(core, allowed, hosts, proxies, settings.forwarded_header)
    factory.setProtocolOptions(
        webStatus=False,
        maxFramePayloadSize=settings.max_message_bytes,
        maxMessagePayloadSize=settings.max_message_bytes,
        autoPingInterval=settings.ping_interval,
        autoPingTimeout=settings.ping_timeout,
        openHandshakeTimeout=settings.handshake_timeout,
        closeHandshakeTimeout=5,
        # Refused frames get a close frame with the reason (1009 for too
        # big) instead of a silently dropped connection.
        failByDrop=False,
    )
    site = build_site(factory, core.clock, settings.web_client, settings.handshake_timeout)
    site.trusted_proxies = settings.trusted_proxies
    return site
