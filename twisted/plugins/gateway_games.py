"""
gateway's built-in commands, declared as a game plugin like any
third-party one.
"""

from gateway.game import LazyGame

core = LazyGame(
    "core",
    "The built-in commands: help, look, who, say, emote, tell, go, password, keys, cert, reload",
    "gateway.core.commands:game",
    package="gateway.core.commands",
)
