"""
The documentation hangs together: every guide is reachable from README.md,
every link between the pages leads to a file and heading that exist,
every configuration key is explained in the operator guide's reference,
and the pages name no key the configuration does not have.
"""

import dataclasses
import re
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from gateway import config

ROOT = Path(__file__).resolve().parent.parent

_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#+\s+(.*)$", re.M)


def anchor(heading):
    """
    The fragment GitHub gives a Markdown heading.

    @type heading: L{str}
    @rtype: L{str}
    """
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def markdown_pages():
    """
    The Markdown pages of the project: README.md, docs/ and the examples'.

    @rtype: L{list} of L{Path}
    """
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "examples").glob("*/README.md"))]


def keys(settings):
    """
    The keys a configuration table accepts.

    @param settings: one of the settings dataclasses of L{gateway.config}.
    @rtype: L{list} of L{str}
    """
    return [f.name for f in dataclasses.fields(settings) if not f.metadata.get("internal")]


def reference_rows(page, prefix):
    """
    The rows of a page's Markdown tables that name a key under C{prefix}.

    @type page: L{str}
    @param prefix: e.g. C{"limits."} or C{"[limits] "}.
    @rtype: L{list} of L{str}
    """
    return [line for line in page.splitlines() if line.startswith("| `" + prefix)]


def sections():
    """
    The top-level tables of the configuration and the keys each accepts.

    @rtype: L{dict} of L{str} to L{list} of L{str}
    """
    return {f.name: keys(f.type) for f in dataclasses.fields(config.Config) if dataclasses.is_dataclass(f.type)}


def unknown_keys(text):
    """
    The configuration keys a page names, as C{`section.key`} or
    C{`[section] key`}, that the configuration does not have.

    @type text: L{str}
    @rtype: L{list} of L{str}
    """
    known = sections()
    names = "|".join(known)
    named = re.findall(rf"`({names})\.(\w+)`", text) + re.findall(rf"`\[({names})\] (\w+)`", text)
    return [f"{section}.{key}" for section, key in named if key not in known[section] and key not in ("py", "md", "toml")]


def broken_links(page):
    """
    The relative links of a Markdown page whose file or heading is missing.

    @type page: L{Path}
    @return: the link targets as written.
    @rtype: L{list} of L{str}
    """
    broken = []
    for target in _LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, fragment = target.partition("#")
        linked = (page.parent / path) if path else page
        if not linked.exists():
            broken.append(target)
        elif fragment and linked.suffix == ".md":
            headings = {anchor(h) for h in _HEADING.findall(linked.read_text(encoding="utf-8"))}
            if fragment not in headings:
                broken.append(target)
    return broken


class DocumentationTests(SynchronousTestCase):
    def test_anchor(self):
        self.assertEqual(anchor("Lingering: login = \"gateway\""), "lingering-login--gateway")
        self.assertEqual(anchor("The web client over HTTPS"), "the-web-client-over-https")

    def test_every_guide_is_linked_from_readme(self):
        """
        A reader starting at README.md finds every page of docs/.
        """
        linked = {target.partition("#")[0] for target in _LINK.findall((ROOT / "README.md").read_text(encoding="utf-8"))}
        for page in sorted((ROOT / "docs").glob("*.md")):
            self.assertIn(f"docs/{page.name}", linked, f"README.md does not link {page.name}")

    def test_links_lead_somewhere(self):
        """
        Relative links name files that exist and headings those files have.
        """
        for page in markdown_pages():
            self.assertEqual(broken_links(page), [], page.name)

    def test_broken_link_found(self):
        page = Path(self.mktemp())
        page.mkdir()
        (page / "a.md").write_text("# Title\n[ok](#title) [bad](#nothing) [gone](b.md) [web](https://x)\n")
        self.assertEqual(broken_links(page / "a.md"), ["#nothing", "b.md"])

    def test_every_key_is_in_the_reference(self):
        """
        Every key the configuration accepts has a row in the operator
        guide's reference, or, for the limits that guide sends the reader
        on to, in the reliability page's table.
        """
        guide = (ROOT / "docs" / "operator-guide.md").read_text(encoding="utf-8")
        reliability = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
        tables = list(sections().items())
        tables += [("listeners.NAME", keys(config.ListenerSettings)), ("upstreams.NAME", keys(config.UpstreamSettings))]
        self.assertIn("max_line_bytes", dict(tables)["limits"])
        for section, names in tables:
            rows = reference_rows(guide, section + ".")
            if section in ("limits", "shutdown", "login"):
                rows += [line for line in reliability.splitlines() if line.startswith("| `")]
            for key in names:
                self.assertTrue(
                    any(f"`{key}`" in row or f"`{section}.{key}`" in row or f"`[{section}] {key}`" in row for row in rows),
                    f"{section}.{key} is not in docs/operator-guide.md's configuration reference",
                )

    def test_pages_name_only_keys_that_exist(self):
        """
        A key a page names (C{`limits.max_line_bytes`}, C{`[login] timeout`})
        is one the configuration accepts.
        """
        for page in markdown_pages():
            self.assertEqual(unknown_keys(page.read_text(encoding="utf-8")), [], page.name)

    def test_unknown_key_found(self):
        self.assertEqual(
            unknown_keys("`limits.max_line_bytes`, `limits.max_lines`, `[login] timeout`, `[login] time`, `server.py`"),
            ["limits.max_lines", "login.time"],
        )
