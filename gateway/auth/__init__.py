"""
Authentication through L{twisted.cred}: one portal, one realm, and the
checkers that read the account store.
"""
