"""The documentation's Python examples and the package docstring run as written; the README, the docs pages and
mkdocs.yml's nav agree."""

from __future__ import annotations

import doctest
import json
import re
from pathlib import Path

import pytest

import streamlake_fast
from streamlake_fast.local.generate import RECEIPT_SCHEMA
from tests.servers.fixtures import Cloud
from tests.worker.helpers import pull_all

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def nav_pages() -> list[Path]:
    """The pages of mkdocs.yml's nav, in order (its ``nav:`` block: ``- Title: page.md`` lines)."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    block = re.search(r"^nav:\n((?:[ \t]+.*\n|\n)*)", text, flags=re.M)
    assert block is not None, "mkdocs.yml has no nav"
    return [DOCS / page for page in re.findall(r"^\s*- .*?(\S+\.md)\s*$", block.group(1), flags=re.M)]


def documented_python_blocks() -> list[tuple[Path, str]]:
    """The ```python blocks of the README and the docs pages in nav order (index.md mirrors the README)."""
    pages = [README, *(p for p in nav_pages() if p.name != "index.md")]
    return [(page, block) for page in pages
            for block in re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)]  # fmt: skip


def source_of(page: Path) -> Path:
    """The file a page shows: itself, or the repository file it includes whole (architecture.md: ARCHITECTURE.md)."""
    included = re.fullmatch(r'--8<-- "([^"]+)"\n', page.read_text(encoding="utf-8"))
    return ROOT / included.group(1) if included else page


def markdown_links(page: Path) -> list[str]:
    """The relative link targets of a page (no URLs, no in-page anchors), anchors cut off."""
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def test_documented_python_blocks_run(pubsub_only: Cloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The blocks run in order in one namespace; the publisher's gets a topic on the emulator and two events; the
    Lambda handler's is made (its clients come at the first batch) and answers an empty batch. The Dataflow
    pipelines' blocks need Google Cloud: they are compiled, not run (tests/runtimes/beam runs the same transforms)."""
    found = documented_python_blocks()
    dataflow = [(page, b) for page, b in found if "beam.Pipeline(options=options)" in b]
    assert len(dataflow) == 2  # one stream, and a routed one
    for page, block in dataflow:
        compile(block, str(page), "exec")
    blocks = [(page, b) for page, b in found if (page, b) not in dataflow]
    assert len(blocks) == 4
    monkeypatch.chdir(tmp_path)
    (tmp_path / "receipts.json").write_text(json.dumps(RECEIPT_SCHEMA))
    topic, subscription = pubsub_only.create_topic_and_subscription()
    events = [b'{"event_time": "2026-11-26T10:15:42Z", "items": []}', b'{"event_time": "never"}']
    namespace: dict[str, object] = {"topic": topic, "events": events}
    for page, block in blocks:
        exec(compile(block, str(page), "exec"), namespace)
    sent = namespace["sent"]
    assert sent.published == 1 and sent.rejects[0].code == "invalid_value"  # type: ignore[attr-defined]
    [message] = pull_all(pubsub_only, subscription)
    assert json.loads(message.message.data)["event_id"]  # added at the edge
    result = namespace["result"]
    assert str(result.rejects[0]) == 'row 1 at items[0].qty: invalid_value: expected an INT64, got "two"'  # type: ignore[attr-defined]
    assert result.batch.num_rows == 1  # type: ignore[attr-defined]
    handler = namespace["handler"]
    assert handler({"Records": []}, None) == {"batchItemFailures": []}  # type: ignore[operator]
    assert callable(namespace["ingest"])  # the push function: settings checked, clients made at the first delivery


def test_the_nav_lists_every_page_and_only_pages_that_exist() -> None:
    nav = nav_pages()
    assert nav and nav[0].name == "index.md"
    assert len(nav) == len(set(nav)), "a page twice in the nav"
    assert [p for p in nav if not p.is_file()] == []
    assert sorted(DOCS.glob("*.md")) == sorted(nav), "every docs/*.md in the nav, and only those"
    assert re.search(r"^docs_dir: docs$", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), flags=re.M)


def test_the_readme_links_to_the_docs_pages_and_its_links_resolve() -> None:
    links = markdown_links(README)
    assert [t for t in links if not (ROOT / t).exists()] == []
    linked = {(ROOT / t).resolve() for t in links}
    assert [p.name for p in nav_pages() if source_of(p).resolve() not in linked] == []
    for page in DOCS.glob("*.md"):
        assert [t for t in markdown_links(page) if not (page.parent / t).exists()] == [], page.name


def test_the_docs_home_mirrors_the_readme() -> None:
    """docs/index.md is the README with its links made relative to docs/."""
    readme = README.read_text(encoding="utf-8")
    mirror = readme.replace("](docs/index.md)", "](index.md)").replace("](docs/", "](")
    mirror = mirror.replace("](ARCHITECTURE.md)", "](architecture.md)")
    mirror = mirror.replace("is in [`docs/`](index.md), a site", "is in these pages, a site")
    assert (DOCS / "index.md").read_text(encoding="utf-8") == mirror


def test_the_api_reference_names_modules_that_exist() -> None:
    modules = re.findall(r"^::: (\S+)$", (DOCS / "reference.md").read_text(encoding="utf-8"), flags=re.M)
    assert "streamlake_fast" in modules
    for name in modules:
        path = ROOT / "python" / name.replace(".", "/")
        assert (path / "__init__.py").is_file() or path.with_suffix(".py").is_file(), name


def test_package_docstring_examples() -> None:
    failures, tried = doctest.testmod(streamlake_fast)
    assert tried > 0
    assert failures == 0


def test_dockerfile_copies_what_exists_and_installs_extras_that_exist() -> None:
    """The image is not built in CI (no Docker daemon there); what it relies on in the tree is checked here."""
    import re

    import tomllib

    root = Path(__file__).resolve().parents[1]
    text = (root / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.M):
        *sources, _ = line.split()
        assert all((root / s).exists() for s in sources), line
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    wanted = re.search(r"\[([a-z,]+)\]\"", text)
    assert wanted is not None and set(wanted.group(1).split(",")) <= set(extras)
    assert 'ENTRYPOINT ["streamlake"]' in text
