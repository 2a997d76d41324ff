"""
gateway's built-in commands, declared as a game plugin like any
third-party one.
"""

from gateway.game import LazyGame

core = LazyGame(
    "core",
    "The built-in commands: look, say, tell, go, help, password, keys, ..., and the admin commands",
    "gateway.core.commands:game",
    package="gateway.core.commands",
)
