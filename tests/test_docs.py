"""
The documentation hangs together: every guide is reachable from README.md,
and every link between the pages leads to a file and heading that exist.
"""

import re
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

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
