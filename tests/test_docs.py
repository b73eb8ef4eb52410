"""The documentation stays short, linked and free of history.

README.md is a page for users (at most `README_MAX_LINES` lines); every relative link in the
Markdown documents resolves to a file in the repository (and a ``#fragment`` to a heading of
it), and so does every repository path and ``robostack.*`` name they quote as code; every
Markdown file a Python file names exists; and no document, docstring or comment cites an issue
number.
"""

from __future__ import annotations

import ast
import importlib
import io
import re
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_LINES = 250
CODE_DIRS = ("robostack", "controllers", "policies", "sim", "hardware", "tests")
GENERATED = ("robostack/transport/lcmtypes",)  # written by lcm-gen

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
MD_NAME = re.compile(r"[\w./-]*[\w-]\.md\b")
ISSUE = re.compile(r"\bissues?\s+#?\d+", re.IGNORECASE)
DATE = re.compile(r"\b20\d\d-\d\d-\d\d\b")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`([^`\s]+)`")
# top-level folders of the repository; a quoted path under one of them must exist
TRACKED = ("assets", "controllers", "docs", "hardware", "launch", "policies", "robostack", "sim")
TRACKED += ("tests", ".ci")
DOTTED_NAME = re.compile(r"robostack(?:\.\w+)+")


def documents() -> list[Path]:
    """README.md, docs/*.md and launch/README.md."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "launch/README.md"]


def python_files() -> list[Path]:
    files = []
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not relative.startswith(GENERATED):
                files.append(path)
    return files


def slug(heading: str) -> str:
    """The anchor a Markdown renderer gives a heading: lower case, punctuation dropped,
    spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of ``path``, repeats numbered (``name``, ``name-1``, ...)."""
    seen: dict[str, int] = {}
    out = set()
    for line in FENCE.sub("", path.read_text()).splitlines():
        if line.startswith("#"):
            base = slug(line.lstrip("#"))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def relative_links(path: Path) -> list[str]:
    """The link targets in ``path`` outside code blocks that are not URLs or mail."""
    text = FENCE.sub("", path.read_text())
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # http:, https:, mailto:
    ]


def broken_links(path: Path) -> list[str]:
    """The relative links of ``path`` that reach no file of the repository, or no heading."""
    broken = []
    for target in relative_links(path):
        file_part, _, fragment = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        inside = resolved == ROOT or ROOT in resolved.parents
        if not inside or not resolved.is_file():
            broken.append(f"{target} (no such file)")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            broken.append(f"{target} (no such heading)")
    return broken


def quoted_paths(path: Path) -> list[str]:
    """Inline-code spans of ``path`` naming a file or folder of the repository: under a
    top-level folder (``robostack/...`` only with a file extension or a trailing slash, since
    dataset columns and environment ids are spelt ``robostack/seed``)."""
    out = []
    for span in CODE_SPAN.findall(FENCE.sub("", path.read_text())):
        top, slash, rest = span.partition("/")
        if not slash or top not in TRACKED:
            continue
        if top == "robostack" and not (span.endswith("/") or "." in rest.rsplit("/", 1)[-1]):
            continue
        out.append(span)
    return out


def resolves(name: str) -> bool:
    """``robostack.a.b.c`` is a module, or an attribute of the longest importable prefix."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attribute in parts[i:]:
            if not hasattr(obj, attribute):
                return False
            obj = getattr(obj, attribute)
        return True
    return False


def prose_of(path: Path) -> str:
    """The docstrings and comments of a Python file, one per line."""
    source = path.read_text()
    parts = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            docstring = ast.get_docstring(node, clean=False)
            if docstring:
                parts.append(docstring)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            parts.append(token.string)
    return "\n".join(parts)


def test_readme_is_short():
    lines = len((ROOT / "README.md").read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines, at most {README_MAX_LINES}"


@pytest.mark.parametrize("path", documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(path):
    assert path.is_file()
    assert broken_links(path) == []


@pytest.mark.parametrize("path", documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_quoted_paths_and_modules_exist(path):
    missing = [p for p in quoted_paths(path) if not (ROOT / p).exists()]
    spans = [span.removesuffix("()") for span in CODE_SPAN.findall(FENCE.sub("", path.read_text()))]
    names = {span for span in spans if DOTTED_NAME.fullmatch(span)}
    missing += sorted(name for name in names if not resolves(name))
    assert missing == []


def test_markdown_files_named_in_code_exist():
    missing = []
    for path in python_files():
        if path == Path(__file__).resolve():  # its own examples of broken names
            continue
        for name in set(MD_NAME.findall(path.read_text())):
            if not (ROOT / name).is_file():
                missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert missing == []


def test_no_issue_numbers_or_dates_in_documents():
    found = []
    for path in documents():
        text = path.read_text()
        found += [f"{path.relative_to(ROOT)}: {m}" for m in ISSUE.findall(text)]
        found += [f"{path.relative_to(ROOT)}: {m}" for m in DATE.findall(text)]
    assert found == []


def test_no_issue_numbers_in_docstrings_or_comments():
    found = []
    for path in python_files():
        found += [f"{path.relative_to(ROOT)}: {m}" for m in ISSUE.findall(prose_of(path))]
    assert found == []


def test_the_checks_catch_what_they_look_for(tmp_path, monkeypatch):
    """A dangling link, a missing heading, an issue number, a quoted path and a module name
    that do not exist are each found."""
    page = ROOT / "docs" / "architecture.md"
    headings = anchors(page)
    assert "safety-model" in headings and "two-processes-over-lcm" in headings
    bad = tmp_path / "bad.md"
    bad.write_text(
        "# Title\n[gone](nowhere.md) [fine](#title) [lost](#elsewhere) [web](https://x.org)\n"
        "```\n[in code](ignored.md)\n```\nAs in issue 12.\n"
    )
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert broken_links(bad) == ["nowhere.md (no such file)", "#elsewhere (no such heading)"]
    assert ISSUE.findall(bad.read_text()) == ["issue 12"]
    quoted = tmp_path / "quoted.md"
    quoted.write_text("`docs/gone.md`, `robostack/seed`, `robostack/lcmtypes/`, `runs/x`")
    assert quoted_paths(quoted) == ["docs/gone.md", "robostack/lcmtypes/"]
    assert resolves("robostack.runtime.loop.ControlLoop")
    assert not resolves("robostack.runtime.loop.NoSuchLoop")
    assert not resolves("robostack.no_such_layer")
