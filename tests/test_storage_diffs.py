"""storage.diffs: word-level differences, and which changes are material."""

from __future__ import annotations

from storage.diffs import Chunk, describe_change, figures, word_diff

BODY = ("The defence ministry signed a contract worth ₹36,000 crore with Garden Reach "
        "Shipbuilders for six next-generation corvettes on Monday. Deliveries begin in 2030, "
        "the ministry said, and the ships will be built in Kolkata with 75% local content. "
        "Officials said the order was the largest surface-ship deal in a decade.")


def test_the_diff_lines_up_words_and_keeps_them_as_written() -> None:
    chunks = word_diff("Navy signs deal, officials say.", "navy signs big deal. Officials say")
    assert chunks == [
        Chunk("equal", ("Navy", "signs"), ("navy", "signs")),
        Chunk("insert", (), ("big",)),
        Chunk("equal", ("deal,", "officials", "say."), ("deal.", "Officials", "say")),
    ]
    assert word_diff(None, "") == []


def test_figures_as_written() -> None:
    assert figures(["worth", "₹36,000", "crore,", "75%", "in", "2030."]) == [
        "₹36,000", "75%", "2030"]
    assert figures(["no", "numbers", "here"]) == []


def test_a_changed_figure_is_named_first() -> None:
    fixed = BODY.replace("₹36,000 crore", "₹38,000 crore")
    assert describe_change("Navy orders corvettes", BODY, "Navy orders corvettes", fixed) == (
        "figure corrected: ₹36,000 → ₹38,000")
    added = BODY.replace("six next-generation", "six (₹6,300 crore each) next-generation")
    assert describe_change("T", BODY, "T", added) == (
        "figure added: ₹6,300; text revised (+3 / −0 words)")  # 3 of 50 words: over 5%


def test_a_new_headline_is_quoted() -> None:
    assert describe_change("Navy orders corvettes", BODY, "Navy orders six corvettes from GRSE",
                           BODY) == "headline now “Navy orders six corvettes from GRSE”"


def test_copy_editing_is_not_material() -> None:
    edited = (BODY.replace("Officials said", "Officials said that")
              .replace(" the ministry", " ministry"))
    assert describe_change("Navy orders corvettes", BODY, "Navy Orders Corvettes", edited) is None
    assert describe_change("T", BODY, "T", BODY + " ") is None


def test_rewritten_text_is_material_with_its_size() -> None:
    longer = BODY + (" The first ship will be laid down next year at the Kolkata yard, and the "
                     "navy expects sea trials to begin two years after that, a spokesman said.")
    assert describe_change("T", BODY, "T", longer) == "text revised (+28 / −0 words)"


def test_versions_without_text_compare_headlines_only() -> None:
    assert describe_change("Old title", None, "New title", None) == "headline now “New title”"
    assert describe_change("Same", None, "Same", "Body came later") is None
