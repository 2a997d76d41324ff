"""
Durations as people read them, for the C{who} list, the log and the
shutdown countdown.
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


def describe_left(seconds):
    """
    A time left as people say it: C{"5 minutes"}, C{"1 minute 30
    seconds"}, C{"10 seconds"}.
    """
    seconds = round(seconds)
    parts = []
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts) or "0 seconds"
