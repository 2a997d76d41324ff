"""
The contracts between frontends, the session core and plugins.

A frontend turns a connection into lines of text and hands them to a
L{ISession}; the core answers through the frontend's L{ISessionTransport}.
Neither side sees the other's details: the core never sees bytes, telnet
commands, SSH channels or certificates, and a frontend never reaches into
the world.
"""

from zope.interface import Attribute, Interface


class ISessionTransport(Interface):
    """
    What a frontend gives the core for one connected client.
    """

    capabilities = Attribute(
        "The L{gateway.core.capabilities.Capabilities} of this client.  "
        "The frontend may update it and then call "
        "L{ISession.capabilities_changed}."
    )

    def send(text):
        """
        Send one or more lines of text to the client.

        @param text: the text, without a trailing newline; embedded C{"\\n"}
            separate lines.
        @type text: L{str}
        """

    def send_prompt(text):
        """
        Send a prompt: text the client shows without a line break after it.

        @type text: L{str}
        """

    def set_echo(on):
        """
        Ask the client to echo what the player types (C{True}) or to hide it
        (C{False}, used for passwords).

        @type on: L{bool}
        """

    def close(reason=None):
        """
        Send C{reason} as a last line (when given) and close the connection
        once it has been written.

        @type reason: L{str} or L{None}
        """


class IOutputFlow(Interface):
    """
    Optional for an L{ISessionTransport}: flow control on output, for a
    core whose text comes from elsewhere at a rate it does not choose (an
    upstream game).  The core registers a push producer that stops that
    source while the client leaves output unread, so what the client has
    not taken waits at the source rather than in the gateway.  A frontend
    on a stream transport implements these with the transport's
    C{registerProducer}/C{unregisterProducer}.
    """

    def register_output_producer(producer):
        """
        Pause C{producer} while the client's connection holds more unsent
        output than it buffers, and resume it once the client has taken it.

        @param producer: an L{twisted.internet.interfaces.IPushProducer}.
        """

    def unregister_output_producer():
        """
        Stop telling the producer registered last.
        """


class IInputFlow(Interface):
    """
    Optional for an L{ISessionTransport}: flow control on input.  The
    session pauses input when its queue of waiting lines is full and
    resumes it when the queue has drained, so a huge paste waits in the
    client's socket and every line of it runs, in order.  A frontend on a
    stream transport implements these with the transport's
    C{pauseProducing}/C{resumeProducing}.
    """

    def pause_input():
        """
        Stop reading from the client until L{resume_input}.  Lines already
        read should wait in the frontend (a stream frontend's line buffer
        keeps them as bytes); any that are still delivered join the queue.
        """

    def resume_input():
        """
        Deliver lines again.
        """


class IRefusingFactory(Interface):
    """
    Optional for a frontend's protocol factory: how to turn a client away in
    the frontend's own protocol.  L{gateway.frontends.limits.LimitingFactory}
    wraps every listener's factory; when it refuses a connection (server
    full, too many connections from an address) it asks the wrapped factory
    for a refusal protocol, and so does a TLS listener whose client
    certificate rules turn a client away.  Without this interface the
    message is written as one line of plain text (right for telnet and
    line frontends) and the connection is closed; the same plain line
    reports a connection whose protocol raised, which is closed silently
    when the factory provides this interface (its byte stream may not take
    plain text).  An SSH frontend returns a protocol that sends a
    disconnect message; a TLS wrapper returns its refusal protocol wrapped
    in TLS.
    """

    def refuse(address, message):
        """
        @param address: the client's L{twisted.internet.interfaces.IAddress}.
        @param message: the one-line reason for the client (L{str}).
        @return: an L{twisted.internet.interfaces.IProtocol} that tells the
            client C{message} and closes the connection, or L{None} to close
            it without a word.
        """


class IReaddressable(Interface):
    """
    A transport below a frontend's protocol whose connection the
    per-address limits count (L{gateway.frontends.limits.LimitedProtocol}):
    a frontend that learns the client's real address from a trusted proxy
    in its own protocol (a web listener's C{X-Forwarded-For}) has the
    connection counted under that address instead.
    """

    def readdress(host):
        """
        Count the connection under C{host} from now on, when the
        per-address caps and throttles admit it.

        @param host: the client's IP address (L{str}, IPv6 without
            brackets).
        @return: L{None} when admitted, else the one-line reason (L{str})
            the client should be turned away with.
        """


class IForwardingFactory(Interface):
    """
    Optional for a frontend's protocol factory: it believes what the proxies
    in C{trusted_proxies} say about their clients in its own protocol (and
    has their connections counted under the clients' addresses with
    L{IReaddressable}), so the proxies' own connections are exempt from
    the per-address caps and throttles.
    """

    trusted_proxies = Attribute("The proxies' addresses or networks, a list of strings.")


class IClearTextAnswer(Interface):
    """
    Optional for a frontend's protocol factory: how to answer a client that
    talks to its listener in clear when the listener has C{tls = true} (a
    browser sent to C{http://} instead of C{https://}).  Without this
    interface such a client's handshake fails and the connection is closed
    without a word.
    """

    def answer_in_clear(data):
        """
        @param data: the first bytes the client sent (L{bytes}), which do
            not start a TLS handshake.
        @return: the bytes (L{bytes}) to send in clear before closing the
            connection, or L{None} to close it without a word.
        """


class IStructuredTransport(Interface):
    """
    An L{ISessionTransport} that can also carry structured messages next to
    the text, such as GMCP over telnet or JSON frames over WebSocket.

    Optional: the core sends structured messages only through
    L{gateway.core.session.Session.send_data}, which checks that the
    transport provides this interface and that its client said it wants
    them (L{gateway.core.capabilities.Capabilities.structured}), so a
    frontend without such a channel implements nothing.
    """

    def send_data(package, data):
        """
        Send one structured message.  Everything it says is also sent as
        text, so a client may ignore it.

        @param package: the message's dotted name in GMCP style, e.g.
            C{"Room.Info"}.
        @type package: L{str}
        @param data: a JSON-serialisable value (a L{dict} usually).
        """


class IResumableTransport(Interface):
    """
    Optional for an L{ISessionTransport} whose client can keep a secret
    for the length of a visit and come back with it on a new connection
    (the web client): after each login the core gives it a resume token,
    and a later connection that hands the token to
    L{ISession.resume_with_token} resumes the account's session without a
    password while the session lasts (see L{gateway.core.linger}).
    """

    def resume_token(name, token):
        """
        Give the client the token that resumes the session of account
        C{name}.  The token is a credential: a frontend passes it only to
        a client it would accept it back from, and never logs it.

        @type name: L{str}
        @type token: L{str}
        """


class IStructuredInput(Interface):
    """
    Optional for an L{ISession}: structured messages from the client (GMCP
    over telnet, C{data} messages over WebSocket).  The sessions of an
    upstream core take them and pass them to the game; a frontend checks
    that its session provides this before calling it, and otherwise
    ignores what it does not understand itself.
    """

    def data_received(package, data):
        """
        One structured message arrived from the client.

        @param package: its dotted name in GMCP style, e.g. C{"Char.Items.Inv"}.
        @type package: L{str}
        @param data: its JSON body, decoded (L{None} without one).
        """


class IMSDPRelay(Interface):
    """
    Optional for an L{IGatewayCore}, which has no methods for it: the core
    passes MSDP (the MUD Server Data Protocol) between a telnet client that
    agreed to it and a game, and its sessions provide L{IMSDPInput}.  A
    telnet frontend offers MSDP only to such a core.
    """


class IMSDPInput(Interface):
    """
    Optional for an L{ISession}: MSDP from the client.
    """

    def msdp_received(payload):
        """
        One well-formed MSDP subnegotiation arrived from the client.

        @param payload: without C{IAC SB MSDP} and C{IAC SE}.
        @type payload: L{bytes}
        """

    def msdp_changed():
        """
        The client turned MSDP on or off (see L{IMSDPTransport.msdp_on}).
        """


class IMSDPTransport(Interface):
    """
    Optional for an L{ISessionTransport}: a client that may do MSDP.
    """

    def msdp_on():
        """
        @return: whether the client agreed to MSDP.
        """

    def send_msdp(payload):
        """
        Send one well-formed MSDP subnegotiation to the client, when it
        agreed to MSDP.

        @type payload: L{bytes}
        """


class ISession(Interface):
    """
    What the core gives a frontend for one connected client.
    """

    def resume_with_token(name, token):
        """
        The client, still logging in, asks to resume the session of account
        C{name} with a token an earlier connection was given (see
        L{IResumableTransport}).  A token is good once, for its account,
        while that session lasts; each attempt counts for the login
        throttles as a password would.

        @type name: L{str}
        @type token: L{str}
        @return: C{True} when the session was resumed (the login dialogue
            is over), C{False} when the token was refused (the dialogue
            goes on).
        """

    def line_received(text):
        """
        One line of input arrived, already decoded and without its line
        ending.

        @type text: L{str}
        """

    def input_ended():
        """
        The client's input ended while its connection stays open to read
        what follows (a shell's standard input without a terminal, as in
        C{ssh -T host < commands}), after every line before the end was
        given to L{line_received}.  The session ends as its core ends it:
        the built-in world runs C{quit} once the commands of those lines
        have run; a relayed game reads the end of its connection's input.
        """

    def connection_lost(reason):
        """
        The connection is gone; the session leaves the world, or lingers
        in it for C{sessions.linger} seconds when the connection dropped
        without the server or the player ending it (see
        L{gateway.core.linger}).

        @type reason: L{twisted.python.failure.Failure}
        """

    def capabilities_changed():
        """
        The transport's capabilities changed (for example the terminal was
        resized).
        """


class IAccount(Interface):
    """
    The avatar of a logged-in player, produced by the realm.
    """

    id = Attribute("The account's database id (L{int}).")
    name = Attribute("The account's name as the player chose it (L{str}).")
    role = Attribute("C{'player'} or C{'admin'}.")
    location = Attribute("The id of the room the player was last in, or None.")


class IGatewayCore(Interface):
    """
    What a frontend or plugin is given: the one way into a core, whichever
    core a listener routes to (the built-in world, an upstream game).  A
    frontend reaches nothing behind it: not the world, the store, the
    settings or the output buffer.
    """

    clock = Attribute(
        "The L{twisted.internet.interfaces.IReactorTime} every timer of a "
        "frontend uses (keepalives, deferred starts), so tests drive it "
        "with L{twisted.internet.task.Clock}."
    )

    limits = Attribute(
        "The live L{gateway.config.LimitSettings} (read-only): always the "
        "values of the configuration loaded last, so a frontend that reads "
        "it when it needs a value (C{max_line_bytes}, "
        "C{max_pending_lines}) follows a reload at once."
    )

    guard = Attribute(
        "The L{gateway.core.throttle.LoginGuard} a frontend that checks "
        "passwords itself (SSH userauth) runs each attempt through, so "
        "failed logins are throttled the same on every protocol."
    )

    metrics = Attribute(
        "The daemon's L{gateway.metrics.Metrics}, where a frontend counts "
        "what only it sees (SSH authentication results)."
    )

    accounts = Attribute(
        "Whether players log in to gateway accounts (L{True}), or the core "
        "lets anyone in and the game behind it runs its own login "
        "(L{False}: an upstream with C{login = \"upstream\"}); an SSH "
        "frontend then admits any user name without a password."
    )

    def connect(transport, account=None):
        """
        A client connected: give it a session.

        Without C{account}, the session starts with the login dialogue,
        unless C{transport.capabilities.certificate} names a client
        certificate bound to an account (C{cert add}): that account is then
        logged in without a password, and told so.  An unbound certificate
        gets the usual login dialogue.  Lines received meanwhile wait in
        the session.  A login that is not finished within C{login.timeout}
        closes the connection.

        @param transport: the frontend's L{ISessionTransport}.
        @param account: the L{IAccount} the frontend already authenticated
            (an SSH user), which goes straight into the world; or L{None}.
        @return: the L{ISession} to give the client's lines to.
        """

    def execute(transport, account, line):
        """
        Run one command for a client the frontend already authenticated,
        without bringing it into the world (an SSH C{exec} request).

        @param transport: the frontend's L{ISessionTransport}; the
            command's questions arrive as prompts on it.
        @param account: the authenticated L{IAccount}.
        @param line: the command line (L{str}).
        @return: C{(session, done)}: the L{ISession} (its C{line_received}
            answers the command's questions) and a
            L{twisted.internet.defer.Deferred} firing with C{True} when the
            command succeeded, C{False} when it failed (the client has been
            told).
        """

    def status():
        """
        What the server says about itself now, for MSSP crawlers, status
        commands and metrics.

        @rtype: L{gateway.core.status.CoreStatus}
        """

    def file_path(configured, default_name):
        """
        Where a frontend keeps a file of its own (an SSH host key).

        @param configured: the path the listener's options give, relative
            to the configuration file; C{""} for the default.
        @param default_name: the file's name in the data directory, used
            when C{configured} is empty.
        @rtype: L{pathlib.Path}
        """


class IFrontendPlugin(Interface):
    """
    A protocol the daemon can serve, found with L{twisted.plugin.getPlugins}.
    A listener in the configuration names its plugin by L{name}.
    """

    name = Attribute("The short name listeners use (L{str}), e.g. C{'telnet'}.")
    description = Attribute("One line for C{twistd gateway --help} (L{str}).")

    def getFactory(core, portal, options):
        """
        Build the protocol factory for one listener.

        @param core: the listener's L{IGatewayCore}; a protocol calls
            C{core.connect(transport)} to get its L{ISession}.
        @param portal: the shared L{twisted.cred.portal.Portal}, for frontends
            that authenticate at the protocol level (SSH).
        @param options: the listener's own C{options} table from the config
            (a L{dict}), which the plugin validates.
        @raise gateway.errors.ConfigError: when C{options} are invalid.
        @return: a L{twisted.internet.interfaces.IProtocolFactory}.
        """


class IGamePlugin(Interface):
    """
    A game plugin, found with L{twisted.plugin.getPlugins}: commands, rooms
    and event hooks for the built-in world.  C{[game] plugins} in the
    configuration names the active ones by L{name}; the built-in commands
    are the plugin C{core}.

    The object in C{twisted/plugins/} stays small: L{load} imports the
    game's code, so discovery imports nothing heavy and a reload can import
    it afresh (see L{gateway.game.LazyGame}).
    """

    name = Attribute("The name C{[game] plugins} uses (L{str}), e.g. C{'core'}.")
    description = Attribute("One line saying what the plugin adds (L{str}).")
    package = Attribute(
        "The dotted name of the package (or module) holding the game's "
        "code: a reload imports its modules afresh."
    )

    def load():
        """
        Import the plugin's code and build its game.

        @return: an L{IGame} provider, new on every call.
        """


class IGame(Interface):
    """
    What one game plugin contributes to the world, as L{IGamePlugin.load}
    builds it.  L{gateway.game.Game} provides every part with a default, so
    a game sets or overrides only what it uses.

    Hooks may return a value, a L{twisted.internet.defer.Deferred} or be
    C{async def}.  The hooks of the active plugins run in the order of
    C{[game] plugins}, each after the previous one's result has fired.
    A hook that raises (or whose Deferred fails) is logged with a reference
    id; the player, if still connected, gets one line naming the reference,
    and the remaining plugins' hooks still run.
    """

    commands = Attribute(
        "The L{gateway.core.commands.Command}s the game adds (a sequence, in "
        "the order C{help} lists them)."
    )
    rooms = Attribute(
        "The path of a TOML file of rooms in the world file's format (its "
        "C{start} is optional and ignored), or L{None}."
    )
    tick_interval = Attribute(
        "Seconds between calls of L{tick} (a L{float}), or L{None} for no "
        "tick."
    )

    def setup(core):
        """
        Called once the game is loaded (at start and on every reload),
        before any other hook, with the core it serves.  It must not block;
        raising refuses the game: at start the daemon does not start, on a
        reload the previous version stays.

        @param core: the L{gateway.core.game.GameCore}.
        """

    def stop():
        """
        Called when this version of the game is taken out of service (a
        reload replaced it, or the daemon stops); no hook of it runs after.
        """

    def logged_in(session):
        """
        A player logged in and is in the world, in C{session.room}.  It
        runs again (with no L{left} before) when a player logs in while
        still connected elsewhere, or comes back to their lingering
        session: C{session} is then the new one, in the same place.  A
        connection that attaches to an account's session runs nothing.

        @param session: the player's L{gateway.core.session.Session}.
        """

    def left(session):
        """
        A player left the world (quit, or disconnected and did not come
        back within C{sessions.linger}); C{session.room} is
        the room they left.  The session is closed: sending to it does
        nothing.
        """

    def entered(session, previous):
        """
        A player moved to C{session.room} from the room C{previous} (an id).
        """

    def said(session, text):
        """
        A player is about to say C{text} to their room.

        @return: the text to say instead (or C{text} unchanged); its
            L{Deferred} may fire later.
        @raise gateway.errors.CommandError: to stop the line from being said;
            the player gets the error's message.
        """

    def tick(core):
        """
        Called every L{tick_interval} seconds on the core's clock (a
        L{twisted.internet.task.LoopingCall}): a tick returning a
        L{Deferred} delays the next one until it has fired.
        """
