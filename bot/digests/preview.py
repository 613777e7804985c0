"""Offline preview: the bundled sample feeds → a digest as it would look in Telegram (no network)."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from importlib import resources

from bot.digests.render import CountryNames, Labels, render_digest
from bot.digests.selection import DigestFilter, select_digest
from bot.digests.slots import zone_for
from bot.domain import Article
from bot.ingest.normalize import normalize_entry, repeated_identifiers
from bot.ingest.parse import parse_feed
from bot.understand.classify import Classifier
from bot.understand.clustering import ClusterCandidate, ClusterIndex, make_signature
from bot.understand.crosslang import detect_language

SAMPLE_URL = "https://samples.diplodigest.invalid/{name}"
_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def sample_articles(classifier: Classifier, now: datetime) -> list[Article]:
    """Every item of the bundled sample feeds, normalized, tagged and clustered like at ingest."""
    articles: list[Article] = []
    index = ClusterIndex([])
    candidates: list[ClusterCandidate] = []
    samples = resources.files("bot").joinpath("data/samples")
    for entry in sorted(samples.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".xml"):
            continue
        url = SAMPLE_URL.format(name=entry.name)
        parsed = parse_feed(
            entry.read_bytes(), url=url, headers={"content-type": "application/xml"}
        )
        repeated = repeated_identifiers(parsed.entries)
        for raw in parsed.entries:
            draft = normalize_entry(
                raw, feed_url=url, source=parsed.title or entry.name, now=now, repeated=repeated
            )
            if draft is None:
                continue
            toks = classifier.tokenize(draft.title, draft.summary)
            tags = classifier.classify_tokens(toks)
            signature = make_signature(toks.norm)
            language = detect_language(f"{draft.title} {draft.summary}", parsed.language)
            evidence = classifier.evidence(draft.title, draft.summary, tags)
            article_id = len(articles) + 1
            cluster = index.choose(
                signature,
                draft.published_at,
                source=draft.source,
                language=language,
                evidence=evidence,
            )
            articles.append(
                Article(
                    id=article_id,
                    feed_id=None,
                    key=draft.key,
                    url=draft.url,
                    title=draft.title,
                    summary=draft.summary,
                    lead=draft.lead,
                    image_url=draft.image_url,
                    source=draft.source,
                    published_at=draft.published_at,
                    fetched_at=now,
                    backfill=False,
                    topics=tags.topics,
                    countries=tags.countries,
                    matches=tags.matches,
                    cluster_id=cluster or article_id,
                    language=language,
                )
            )
            candidates.append(
                ClusterCandidate(
                    article_id,
                    cluster,
                    signature,
                    draft.published_at,
                    draft.source,
                    language,
                    evidence,
                )
            )
            index = ClusterIndex(candidates)
    return articles


def preview_parts(now: datetime, *, lang: str = "ru", zone: str = "Europe/Moscow") -> list[str]:
    """The Telegram HTML messages of a digest over the samples, following every topic."""
    classifier = Classifier.load()
    articles = sample_articles(classifier, now)
    names = {t.slug: (t.name_ru if lang == "ru" else t.name_en) for t in classifier.topics}
    digest = select_digest(
        articles,
        DigestFilter(topics=(), countries=()),
        after_id=0,
        topic_order=[t.slug for t in classifier.topics],
    )
    labels = Labels(lang, names, CountryNames(classifier.country_name, lang))
    # The samples are dated 2025; show them as they looked the next morning.
    newest = max((a.published_at for a in articles), default=now)
    return render_digest(
        digest, labels=labels, zone=zone_for(zone), now=newest + timedelta(hours=8)
    )


def as_terminal_text(message_html: str) -> str:
    """Telegram HTML → readable console text: each link's address on the line after its title."""
    text = _TAG.sub("", _LINK.sub(lambda m: f"{m.group(2)}\n  {m.group(1)}", message_html))
    return html.unescape(text)


def print_offline_preview(now: datetime) -> None:
    for part in preview_parts(now):
        print(as_terminal_text(part))
        print()
