"""ClusterIndex: the same decisions as the exhaustive scan, without comparing against every story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.understand.clustering import (
    JOIN_THRESHOLD,
    SAME_SOURCE_THRESHOLD,
    ClusterCandidate,
    ClusterIndex,
    choose_cluster,
    make_signature,
    similarity,
)

T0 = datetime(2025, 2, 21, tzinfo=UTC)


def window(n: int) -> list[ClusterCandidate]:
    """n stories that all share two common words and each have four words of their own."""
    return [
        ClusterCandidate(
            article_id=i,
            cluster_id=None,
            signature=make_signature(
                ["министр", "встреча", f"город{i}", f"имя{i}", f"дело{i}", f"число{i}"]
            ),
            published_at=T0,
            source=f"agency{i % 5}",
        )
        for i in range(1, n + 1)
    ]


def test_rare_shared_words_find_the_story_and_common_words_alone_do_not():
    cands = window(300)
    index = ClusterIndex(cands, max_posting=200)
    same_story = make_signature(["министр", "встреча", "город7", "имя7", "дело7", "новое"])
    assert index.choose(same_story, T0 + timedelta(hours=2), source="other") == 7
    assert choose_cluster(same_story, T0, cands, source="other") == 7
    only_common = make_signature(["министр", "встреча", "погода", "урожай"])
    assert index.choose(only_common, T0, source="other") is None


def test_window_and_same_source_rules_still_apply():
    cands = window(10)
    index = ClusterIndex(cands)
    same_story = make_signature(
        ["министр", "встреча", "город3", "имя3", "дело3", "новое", "другое", "третье"]
    )
    score = similarity(same_story, cands[2].signature)
    assert JOIN_THRESHOLD <= score < SAME_SOURCE_THRESHOLD
    assert index.choose(same_story, T0, source="other") == 3
    assert index.choose(same_story, T0 + timedelta(hours=49), source="other") is None
    assert index.choose(same_story, T0, source="agency3") is None  # needs near-identical text
