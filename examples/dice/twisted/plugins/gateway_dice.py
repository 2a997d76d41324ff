"""
Declares the dice-and-board game to gateway.  This module is imported when
Twisted rebuilds its plugin cache, so it only names the code to load: the
game itself is imported when C{[game] plugins} names it.
"""

from gateway.game import LazyGame

dice = LazyGame(
    "dice",
    "Dice rolls (roll 2d6) and a message board in every room (board, post, read)",
    "gateway_dice.game:game",
)
