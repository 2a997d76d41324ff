"""
An example third-party gateway frontend: the game over newline-delimited
JSON messages, for bots and scripts.  See docs/plugins.md.
"""
