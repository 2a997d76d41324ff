"""
The upstream core: listeners that route their sessions to an existing game
server, with the player's real address passed on.
"""
