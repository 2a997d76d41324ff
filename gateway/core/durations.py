"""
Durations as people read them, for the C{who} list and the log.
"""


def describe_duration(seconds):
    """
    A duration in whole units, compact: C{"42s"}, C{"7m"}, C{"2h05m"}.
    """
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
