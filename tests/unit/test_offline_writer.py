import itertools
import re
import statistics

import pytest

from postloop.core.features import similarity, viral_indicators
from postloop.core.offline_writer import OfflineWriter
from postloop.core.ports import Draft, WriteRequest, Writer
from postloop.core.quality import quality_rejection, score_quality
from postloop.core.text_rules import fits

CONTENT_TYPES = (
    "educational_thread",
    "factual_single",
    "question",
    "hot_take",
    "story",
    "how_to_list",
    "something_new",
)


def request(content_type="factual_single", seed=1, thread=False, topics=("serverless costs",)):
    return WriteRequest(
        content_type=content_type,
        prompt="write something useful",
        persona="a pragmatic engineer",
        niche="cloud engineering",
        topics=tuple(topics),
        thread=thread,
        seed=seed,
    )


def joined(draft: Draft) -> str:
    return "\n\n".join(draft.parts)


def test_it_is_a_writer():
    writer: Writer = OfflineWriter()
    draft = writer.write(request())
    assert isinstance(draft, Draft)
    assert draft.generator == "offline"
    assert draft.cost_usd == 0.0


def test_same_request_same_draft():
    for content_type in CONTENT_TYPES:
        for thread in (False, True):
            first = OfflineWriter().write(request(content_type, seed=42, thread=thread))
            second = OfflineWriter().write(request(content_type, seed=42, thread=thread))
            assert first == second


def test_different_seeds_give_different_drafts():
    drafts = {joined(OfflineWriter().write(request(seed=s))) for s in range(50)}
    assert len(drafts) >= 48


def test_topic_comes_from_topics_or_falls_back_to_niche():
    topics = ("python testing", "observability")
    seen = {OfflineWriter().write(request(seed=s, topics=topics)).topic for s in range(40)}
    assert seen == set(topics)
    draft = OfflineWriter().write(request(seed=3, topics=()))
    assert draft.topic == "cloud engineering"


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("thread", [False, True])
def test_every_part_fits_and_threads_have_3_to_5_parts(content_type, thread):
    writer = OfflineWriter()
    for seed in range(150):
        draft = writer.write(request(content_type, seed=seed, thread=thread))
        assert all(part.strip() and fits(part) for part in draft.parts)
        if thread:
            assert 3 <= len(draft.parts) <= 5
        else:
            assert len(draft.parts) == 1


def test_every_part_fits_with_a_very_long_topic():
    topic = "distributed consensus in geographically replicated databases " * 3
    for seed in range(60):
        draft = OfflineWriter().write(request("how_to_list", seed=seed, topics=(topic,)))
        assert all(fits(part) for part in draft.parts)


@pytest.mark.parametrize("thread", [False, True])
def test_quality_spreads_across_200_seeds(thread):
    writer = OfflineWriter()
    drafts = [
        writer.write(request(CONTENT_TYPES[s % 7], seed=s, thread=thread)) for s in range(200)
    ]
    reports = [score_quality(draft.parts) for draft in drafts]
    scores = sorted(report.score for report in reports)
    low = sum(score < 0.55 for score in scores)
    high = sum(score > 0.8 for score in scores)
    assert scores[0] < 0.5
    assert scores[-1] > 0.88
    # The writer's drafts without a spam tail are well-formed English, so the median sits higher
    # than under the old score (0.55-0.8), which paid for digits and openers whatever they said.
    assert 0.55 <= statistics.median(scores) <= 0.85
    assert low >= 40 and high >= 30  # both weak and strong drafts are common
    # Most drafts pass the quality gate; the weak ones fail it for their spam tails, never as non-prose.
    rejected = [report for report in reports if quality_rejection(report)]
    assert len(rejected) <= 0.4 * len(reports)
    assert all(any(f.startswith("spam") for f in report.floors) for report in rejected)


@pytest.mark.parametrize("content_type", ["factual_single", "question", "educational_thread"])
def test_drafts_are_rarely_near_duplicates(content_type):
    writer = OfflineWriter()
    texts = [
        joined(writer.write(request(content_type, seed=s, thread=content_type.endswith("thread"))))
        for s in range(60)
    ]
    pairs = list(itertools.combinations(texts, 2))
    near = sum(similarity(a, b) >= 0.8 for a, b in pairs)
    assert near / len(pairs) < 0.02


def _mean_indicator(content_type: str, key: str) -> float:
    writer = OfflineWriter()
    drafts = [writer.write(request(content_type, seed=s)) for s in range(60)]
    return statistics.mean(viral_indicators(joined(draft))[key] for draft in drafts)


def test_content_types_have_distinct_styles():
    assert _mean_indicator("how_to_list", "list_format") > 0.9
    assert _mean_indicator("factual_single", "list_format") == 0.0
    assert _mean_indicator("question", "question") > 0.75  # a hashtag tail can follow the "?"
    assert _mean_indicator("factual_single", "question") < 0.2
    contrarian = _mean_indicator("hot_take", "contrarian")
    assert contrarian > _mean_indicator("factual_single", "contrarian")


def test_story_is_told_in_the_first_person():
    writer = OfflineWriter()
    stories = [joined(writer.write(request("story", seed=s))) for s in range(30)]
    first_person = re.compile(r"\b(?:I|me|my)\b")
    assert all(first_person.search(text) for text in stories)
