"""
Writing a run's figures into docs/benchmarks.md (between two markers, so
the hand-written parts of the page survive) and plotting them.
"""

import os
import platform
import re

BEGIN = "<!-- results:begin (written by bench/run) -->"
END = "<!-- results:end -->"


def machine():
    """
    A one-line description of this machine.
    """
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            found = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
            model = found.group(1) if found else ""
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores {model}, Python {platform.python_version()}"


def _figure(value):
    if value is None:
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows):
    """
    The results as a Markdown table.
    """
    lines = [
        "| scenario | metric | gateway | baseline | gateway / baseline |",
        "|---|---|---:|---:|---:|",
    ]
    for r in rows:
        unit = f" ({r.unit})" if r.unit else ""
        ratio = r.ratio
        better = "higher is better" if r.higher_is_better else "lower is better"
        shown = f"{ratio:.2f} ({better})" if ratio is not None else "n/a"
        note = f" — {r.note}" if r.note else ""
        lines.append(f"| {r.scenario} | {r.metric}{unit}{note} | {_figure(r.gateway)} | {_figure(r.baseline)} | {shown} |")
    return "\n".join(lines)


def results_section(rows, command, date, load, plot_name, log_lines):
    """
    The generated part of the page: the command, the date (UTC) and the
    machine of the run, then its figures, plot and log.
    """
    return "\n".join([
        BEGIN,
        f"Command: `{command}`  ",
        f"Date: {date}  ",
        f"Machine: {machine()}  ",
        f"Load average (1, 5, 15 min) at start and end: {load[0]} / {load[1]}",
        "",
        table(rows),
        "",
        f"![throughput and latency against N]({plot_name})",
        "",
        "<details><summary>Run log</summary>",
        "",
        "```",
        *log_lines,
        "```",
        "",
        "</details>",
        END,
    ])


def write_page(path, section):
    """
    Put C{section} into the page at C{path} in place of the previous
    results (or at its end).
    """
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n## The figures\n\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")


def plot(sweep, path):
    """
    Throughput of the fan-out burst and p50/p99 latency of the paced chat
    against N, for every server in C{sweep} (name to C{(N, lines/s, p50,
    p99)} points).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (left, right) = pyplot.subplots(1, 2, figsize=(11, 4.2))
    for name, points in sorted(sweep.items()):
        ns = [p[0] for p in points]
        left.plot(ns, [p[1] for p in points], marker="o", label=name)
        right.plot(ns, [p[2] for p in points], marker="o", label=f"{name} p50")
        right.plot(ns, [p[3] for p in points], marker="x", linestyle="--", label=f"{name} p99")
    left.set(title="fan-out burst (K=10, M=100)", xlabel="clients N", ylabel="delivered lines/s")
    right.set(title="paced chat (K=10 at 5 lines/s)", xlabel="clients N", ylabel="end-to-end latency (ms)")
    for axes in (left, right):
        axes.grid(True, alpha=0.3)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    pyplot.close(figure)
