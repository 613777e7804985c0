"""What the classifier made of every labelled item, recorded so a faster path can be proved equal.

Items: each article of the labelled sets (tests/eval/*.jsonl, both sides of the story pairs) and
each entry of the bundled sample feeds (bot/data/samples, parsed and normalized as ingest does).
For each: topics, countries, the matched words and the story signature, with the pymorphy and the
snowball back-ends. ``tests/understand/test_cold_equivalence.py`` compares the classifier of the
checkout with tests/fixtures/understanding_recorded.json, recorded from the code before the
cold-word speed-ups (issue #12). Record again (only when a change of results is intended):

    .venv/bin/python -m tests.support.understanding_record [tests/fixtures/understanding_recorded.json]
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECORDING = ROOT / "tests" / "fixtures" / "understanding_recorded.json"
BACKENDS = ("pymorphy", "snowball")


def items(root: Path = ROOT) -> list[tuple[str, str, str]]:
    """(item id, title, text) of every labelled article and every sample feed entry."""
    from bot.ingest.normalize import normalize_entry, repeated_identifiers
    from bot.ingest.parse import parse_feed

    out: list[tuple[str, str, str]] = []
    for path in sorted((root / "tests" / "eval").glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if not line.strip():
                continue
            row = json.loads(line)
            base = f"{path.stem}:{row.get('id', n)}"
            if "title" in row:
                out.append((base, row["title"], row.get("text", "")))
            for side in ("a", "b"):
                if side in row:
                    out.append((f"{base}:{side}", row[side]["title"], row[side].get("text", "")))
    now = datetime(2025, 3, 1, tzinfo=UTC)
    for path in sorted((root / "bot" / "data" / "samples").glob("*.xml")):
        url = f"https://example.org/{path.stem}.xml"
        parsed = parse_feed(path.read_bytes(), url=url, headers={"Content-Type": "application/xml"})
        repeated = repeated_identifiers(parsed.entries)
        seen: set[str] = set()
        for n, entry in enumerate(parsed.entries):
            draft = normalize_entry(
                entry, feed_url=url, source=path.stem, now=now, seen_keys=seen, repeated=repeated
            )
            if draft is not None:
                out.append((f"samples/{path.name}:{n}", draft.title, draft.summary))
    return out


def understand(classifier, title: str, text: str) -> dict:
    """The classifier's results for one item, as JSON."""
    found, signature = classifier.analyze(title, text)
    return {
        "topics": list(found.topics),
        "countries": list(found.countries),
        "matches": {k: list(v) for k, v in sorted(found.matches.items())},
        "signature": signature.hex(),
    }


def record(root: Path = ROOT) -> dict[str, dict[str, dict]]:
    from bot.understand.classify import Classifier

    listed = items(root)
    out: dict[str, dict[str, dict]] = {}
    for backend in BACKENDS:
        clf = Classifier.load(backend=backend)
        out[backend] = {key: understand(clf, title, text) for key, title, text in listed}
    return out


def main() -> None:
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else RECORDING
    results = record()
    target.write_text(
        json.dumps(results, ensure_ascii=False, indent=0, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"recorded {sum(len(v) for v in results.values())} results in {target}")


if __name__ == "__main__":
    main()
