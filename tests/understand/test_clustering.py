"""Story clustering: fingerprints, similarity, join decisions with window and sources."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.understand.classify import Classifier
from bot.understand.clustering import (
    CLUSTER_WINDOW,
    ClusterCandidate,
    choose_cluster,
    make_signature,
    similarity,
)

T0 = datetime(2025, 3, 12, 8, 0, tzinfo=UTC)
A = (
    "Президент Таджикистана принял министра иностранных дел Узбекистана",
    "Эмомали Рахмон принял министра иностранных дел Узбекистана Бахтиёра Саидова в Душанбе.",
)
B = (
    "Бахтиёр Саидов встретился с Эмомали Рахмоном в Душанбе",
    "Министр иностранных дел Узбекистана Бахтиёр Саидов был принят Президентом Рахмоном.",
)
C = (
    "ЕС утвердил 16-й пакет санкций против России",
    "Совет Евросоюза утвердил пакет антироссийских санкций против алюминия и банков.",
)


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier.load()


def cand(
    sig: bytes,
    *,
    article_id: int = 1,
    cluster_id: int | None = None,
    at: datetime = T0,
    source: str = "Khovar",
) -> ClusterCandidate:
    return ClusterCandidate(article_id, cluster_id, sig, at, source)


def test_signature_is_deterministic_and_compact(clf: Classifier) -> None:
    sig = clf.signature(*A)
    assert sig == clf.signature(*A)
    assert len(sig) % 8 == 0 and 0 < len(sig) <= 64 * 8
    assert similarity(sig, sig) == 1.0
    assert similarity(sig, b"") == 0.0
    assert make_signature([]) == b""


def test_word_forms_do_not_matter(clf: Classifier) -> None:
    a = clf.signature("Переговоры президентов Таджикистана и Узбекистана", "")
    b = clf.signature("Переговоры президента Таджикистан и Узбекистан", "")
    assert similarity(a, b) == 1.0


@pytest.mark.parametrize(
    ("new_source", "delta", "expected"),
    [
        ("UzA", timedelta(hours=3), 7),  # same story, other agency, joins the cluster
        ("UzA", CLUSTER_WINDOW + timedelta(hours=1), None),  # outside the window
        ("UzA", -timedelta(hours=3), 7),  # the candidate may be newer
    ],
)
def test_same_story_joins_within_window(
    clf: Classifier, new_source: str, delta: timedelta, expected: int | None
) -> None:
    old = cand(clf.signature(*A), article_id=3, cluster_id=7)
    assert choose_cluster(clf.signature(*B), T0 + delta, [old], source=new_source) == expected


def test_joins_article_id_when_candidate_has_no_cluster(clf: Classifier) -> None:
    old = cand(clf.signature(*A), article_id=3)
    assert choose_cluster(clf.signature(*B), T0, [old], source="UzA") == 3


def test_different_story_starts_new_cluster(clf: Classifier) -> None:
    old = cand(clf.signature(*A), article_id=3)
    assert choose_cluster(clf.signature(*C), T0, [old], source="TASS") is None


def test_same_source_needs_near_identical(clf: Classifier) -> None:
    old = cand(clf.signature(*A), article_id=3, source="Khovar")
    assert choose_cluster(clf.signature(*B), T0, [old], source="Khovar") is None
    repost = clf.signature(A[0], A[1] + " ФОТО: Ховар")
    assert choose_cluster(repost, T0, [old], source="Khovar") == 3


def test_best_candidate_wins(clf: Classifier) -> None:
    weak = cand(clf.signature(*C), article_id=1, source="TASS")
    strong = cand(clf.signature(*A), article_id=2, cluster_id=9, source="Khovar")
    assert choose_cluster(clf.signature(*B), T0, [weak, strong], source="UzA") == 9
