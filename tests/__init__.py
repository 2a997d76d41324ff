"""
gateway's trial tests.  Run with C{python -m twisted.trial tests}.
"""
