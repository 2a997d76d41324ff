"""
Gateway mode: listeners that relay their players to an existing game
server (an upstream) over telnet instead of the built-in world, with the
player's real address passed on.

Modules: L{core} (the core a listener's frontends are given, one
connection to the game per session), L{relay} (that connection: the telnet
client negotiating for the player), L{telnet} (the client side of the
telnet protocol), L{ansi} (the game's colours as markup), L{proxy} (HAProxy
PROXY headers).
"""
