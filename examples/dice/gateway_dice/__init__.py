"""
An example gateway game plugin: dice rolls and a message board per room.
"""
