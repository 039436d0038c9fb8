"""LocalAgreement-2 commits (pure)."""

from __future__ import annotations

from tccc.events import Word
from tccc.stt.agreement import LocalAgreement, word_key
from tccc.stt.live import join_words


def words(text: str) -> list[Word]:
    return [Word(i * 0.5, i * 0.5 + 0.4, t, 0.9) for i, t in enumerate(text.split())]


def test_word_key_ignores_case_and_punctuation_but_keeps_numbers() -> None:
    assert word_key("Tourniquet,") == "tourniquet"
    assert word_key("90/60.") == "90/60"
    assert word_key("2.5") == "2.5"


def test_first_hypothesis_commits_nothing() -> None:
    la = LocalAgreement()
    assert la.update(words("casualty has a")) == []
    assert join_words(la.tentative) == "casualty has a"


def test_agreed_prefix_is_committed() -> None:
    la = LocalAgreement()
    la.update(words("casualty has a gun"))
    new = la.update(words("Casualty has a gunshot wound"))
    assert join_words(new) == "Casualty has a"
    assert join_words(la.tentative) == "gunshot wound"


def test_committed_prefix_never_changes() -> None:
    la = LocalAgreement()
    hyps = [
        "tourniquet on the",
        "tourniquet on the right",
        "tourniquet on the right thigh at",
        "tourniquet on a right thigh at fourteen",  # the decoder changes its mind on "the"
        "tourniquet on the right thigh at fourteen thirty",
    ]
    snapshots: list[str] = []
    for h in hyps:
        la.update(words(h))
        committed = join_words(la.committed)
        for earlier in snapshots:
            assert committed.startswith(earlier)
        snapshots.append(committed)
    la.finish(words("tourniquet on a right thigh at fourteen thirty two"))
    final = join_words(la.committed)
    assert final.startswith(snapshots[-1])
    assert final.endswith("fourteen thirty two")


def test_finish_flushes_the_tail() -> None:
    la = LocalAgreement()
    la.update(words("pulse one"))
    la.update(words("pulse one ten"))
    rest = la.finish(words("pulse one ten and strong"))
    assert join_words(rest) == "ten and strong"
    assert join_words(la.committed) == "pulse one ten and strong"
    assert la.tentative == []


def test_finish_without_partials_takes_everything() -> None:
    la = LocalAgreement()
    assert join_words(la.finish(words("no known drug allergies"))) == "no known drug allergies"


def test_join_attaches_hyphen_and_clitic_pieces() -> None:
    assert join_words(words("fat -mutton he 's")) == "fat-mutton he's"


def test_final_that_rereads_a_committed_word_does_not_repeat_it() -> None:
    # "range" was committed; the final hears the same audio as "rays": no "range rays".
    la = LocalAgreement()
    la.update(words("casual being specialist range"))
    la.update(words("casual being specialist range battle"))
    assert join_words(la.committed) == "casual being specialist range"
    la.finish(words("casualty is specialist rays battle roster"))
    assert join_words(la.committed) == "casual being specialist range battle roster"


def test_final_keeps_new_words_after_a_rewrite() -> None:
    la = LocalAgreement()
    la.update(words("the pulse is"))
    la.update(words("the pulse is one"))
    la.finish(words("a pulse was one ten strong"))
    # Committed "the pulse is" stays; the words after its time all come through.
    assert join_words(la.committed) == "the pulse is one ten strong"
