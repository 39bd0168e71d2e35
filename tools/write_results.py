"""Write the measured tables of docs/ and the README, and each shipped version's model card,
from the exports' metrics.json (and config.json) in saved_models/.

Every figure in a generated table is read from a shipped export, so a table cannot drift from
the exports: `--check` (run by `make check-docs` and tests/test_results_tables.py) fails and
names the table and the rows when a file differs from what this would write. The tables'
layout and their prose (model descriptions, published numbers with their citations) are in
tools/results_tables.py; the cards' in tools/results_cards.py. A generated table sits between
`<!-- results:NAME begin -->` and `<!-- results:NAME end -->`; the text around it is left alone.

    .venv/bin/python tools/write_results.py            # rewrite the tables and the cards
    .venv/bin/python tools/write_results.py --check    # exit 1 and say what drifted

Each table reads the highest shipped version of each model (git-tracked versions in a
checkout, every integer version folder elsewhere); a row whose figure no export holds is an
error, not a blank.
"""

import argparse
import difflib
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import results_cards  # noqa: E402  (beside this file; a maintainer's tool, not library API)
import results_tables  # noqa: E402
from results_exports import MissingFigure, latest_versions, shipped_versions  # noqa: E402

CARD_FILE = "MODEL_CARD.md"
MARKERS = "<!-- results:{} begin -->", "<!-- results:{} end -->"


def replace_blocks(text, blocks, where):
    """`text` with each `<!-- results:NAME begin/end -->` block replaced by blocks[NAME];
    a marker pair missing from `text` is an error naming `where`."""
    for name, body in blocks.items():
        begin, end = (m.format(name) for m in MARKERS)
        pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.S)
        if not pattern.search(text):
            raise MissingFigure(f"{where}: no {begin} ... {end} markers; add them around the table")
        text = pattern.sub(lambda _: f"{begin}\n{body}\n{end}", text, count=1)
    return text


def expected_files(root):
    """path -> the text this tool would write there: every doc with generated tables, and
    each shipped version's model card. Reads nothing but saved_models/ and those docs."""
    root = pathlib.Path(root)
    versions = shipped_versions(root / "saved_models")
    latest = latest_versions(versions)
    files = {}
    for doc, tables in results_tables.tables_by_file(versions, root).items():
        path = root / doc
        files[path] = replace_blocks(path.read_text(), tables, doc)
    for export in versions:
        files[export.folder / CARD_FILE] = results_cards.card(export, latest)
    return files


def _block_of(text, line_number):
    names = re.findall(r"<!-- results:(\S+) begin -->", "\n".join(text.splitlines()[:line_number]))
    return names[-1] if names else "(outside the generated tables)"


def drift(path, expected, root):
    """One line per differing row of `path`: which table, what is written, what the exports say."""
    actual = path.read_text() if path.exists() else ""
    if actual == expected:
        return []
    where = path.relative_to(root)
    if not actual:
        return [f"{where}: missing"]
    found, wanted = actual.splitlines(), expected.splitlines()
    report = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, found, wanted, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        table = _block_of(expected, j1 + 1)
        for line in found[i1:i2]:
            report.append(f"{where} [{table}] written:  {line}")
        for line in wanted[j1:j2]:
            report.append(f"{where} [{table}] exports:  {line}")
    return report


def check(root=ROOT):
    """The drift report (empty when every table and card matches the exports)."""
    root = pathlib.Path(root)
    return [line for path, text in expected_files(root).items() for line in drift(path, text, root)]


def write(root=ROOT):
    """Rewrite every file that differs; returns the paths written."""
    root = pathlib.Path(root)
    written = []
    for path, text in expected_files(root).items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a table or card drifted")
    parser.add_argument("--root", default=str(ROOT), help="the repository (default: this one)")
    args = parser.parse_args(argv)
    try:
        if args.check:
            report = check(args.root)
            for line in report:
                print(line)
            if report:
                print("tables or model cards differ from saved_models/*/*/metrics.json: "
                      "run `python tools/write_results.py` and review the diff", file=sys.stderr)
            return 1 if report else 0
        for path in write(args.root):
            print(f"wrote {path.relative_to(args.root)}")
        return 0
    except MissingFigure as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
