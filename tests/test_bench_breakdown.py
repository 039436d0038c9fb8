"""The error breakdown of `tccc bench analysis`: per atom type and per phenomenon, on constructed
scorer results, and the report and JSON of the command on a narrations file of its own."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tccc.bench import analysis
from tccc.bench.breakdown import (
    UNTAGGED,
    atom_type,
    breakdown,
    expected_types,
    format_breakdown,
    load_phenomena,
    parse_atom,
    tag_group,
    tally_types,
)
from tccc.bench.narrations import default_narrations_path
from tccc.config import Settings
from tccc.errors import TcccError

# --- atoms and tags -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("atom", "kind"),
    [
        (("med", "txa"), "med"),
        (("med_dose", "txa", "2000mg"), "med_dose"),
        (("vital", "pulse", 110), "vital:pulse"),
        (("vital", "bp", "110/70"), "vital:bp"),
        (("tourniquet_time", "LEFT LEG", "1430"), "tourniquet_time"),
        (("time_of_injury", None), "time_of_injury"),
    ],
)
def test_atom_type_is_the_scorers_name_and_the_sign_of_a_vital(
    atom: tuple[object, ...], kind: str
) -> None:
    assert atom_type(atom) == kind
    assert parse_atom(str(atom)) == atom  # the scorer lists atoms as str(tuple)


@pytest.mark.parametrize("text", ["", "med", "['med']", "()", "os.system('x')"])
def test_parse_atom_rejects_what_is_not_an_atom(text: str) -> None:
    with pytest.raises(TcccError):
        parse_atom(text)


@pytest.mark.parametrize(
    ("tag", "group"),
    [
        ("number:'about a hundred' = 100", "number"),
        ('number:"pain\'s a four"', "number"),
        ("negation:no exit wound", "negation"),
        ("planned/not done: tourniquet readied, not applied", "planned/not done"),
        ("identity:rank+first+last name", "identity"),
        ("time:digit-by-digit", "time"),
        # A style is its own group.
        ("style:terse", "style:terse"),
        ("style:under fire, clipped", "style:under fire, clipped"),
        # No prefix: the tag without its parenthesised detail.
        ("multi-casualty (2) by name", "multi-casualty"),
        ("multi-casualty (4) by roster", "multi-casualty"),
        ("talk-to-casualty lines (no facts)", "talk-to-casualty lines"),
        ("done by someone else and confirmed (PA: gave TXA)", "done by someone else and confirmed"),
        ("burn %TBSA", "burn %TBSA"),
    ],
)
def test_tags_group_by_their_prefix_and_styles_by_their_value(tag: str, group: str) -> None:
    assert tag_group(tag) == group


# --- the arithmetic -----------------------------------------------------------------------------


def row(
    case: str, expected: dict[str, int], missed: list[str], invented: list[str]
) -> dict[str, Any]:
    """A scored export as the bench stores it."""
    hits = sum(expected.values()) - len(missed)
    return {
        "case": case,
        "expected_types": expected,
        "missed": missed,
        "invented": invented,
        "hits": hits,
        "expected_atoms": sum(expected.values()),
        "predicted_atoms": hits + len(invented),
    }


ROWS = [
    row(
        "a",
        {"med": 2, "vital:pulse": 2, "tourniquet": 1},
        ["('vital', 'pulse', 110)", "('med', 'txa')"],
        ["('vital', 'pulse', 18)", "('fluid', 'ns')"],
    ),
    row("b", {"med": 1, "vital:pulse": 1}, [], ["('med', 'ketamine')"]),
    row("c", {"tourniquet": 2}, ["('tourniquet', 'LEFT LEG')"], []),
]
PHENOMENA = {"a": ["number:'one-oh-eight'", "number:radio digits", "style:terse"], "b": ["tq:CAT"]}


def test_missed_plus_hits_is_expected_and_hits_plus_invented_is_predicted_per_type() -> None:
    out = breakdown(ROWS, PHENOMENA)
    atoms = out["atoms"]
    assert atoms["med"] == {"cases": 2, "expected": 3, "hits": 2, "missed": 1, "invented": 1}
    assert atoms["vital:pulse"] == {
        "cases": 2,
        "expected": 3,
        "hits": 2,
        "missed": 1,
        "invented": 1,
    }
    assert atoms["tourniquet"] == {"cases": 2, "expected": 3, "hits": 2, "missed": 1, "invented": 0}
    # An atom type only ever invented still has its row.
    assert atoms["fluid"] == {"cases": 1, "expected": 0, "hits": 0, "missed": 0, "invented": 1}
    for tally in atoms.values():
        assert tally["missed"] + tally["hits"] == tally["expected"]
    total = out["total"]
    assert total["expected"] == sum(r["expected_atoms"] for r in ROWS) == 9
    assert total["hits"] == sum(r["hits"] for r in ROWS) == sum(t["hits"] for t in atoms.values())
    assert total["hits"] + total["invented"] == sum(r["predicted_atoms"] for r in ROWS)
    # Atom types come in the order of the card.
    assert list(atoms) == ["tourniquet", "vital:pulse", "fluid", "med"]


def test_a_case_counts_once_per_phenomenon_group_and_untagged_cases_have_their_own() -> None:
    groups = breakdown(ROWS, PHENOMENA)["phenomena"]
    # Case "a" has two number tags: its 5 expected atoms count once under "number".
    assert groups["number"] == {"cases": 1, "expected": 5, "hits": 3, "missed": 2, "invented": 2}
    assert groups["style:terse"] == groups["number"]
    assert groups["tq"] == {"cases": 1, "expected": 2, "hits": 2, "missed": 0, "invented": 1}
    assert groups[UNTAGGED] == {"cases": 1, "expected": 2, "hits": 1, "missed": 1, "invented": 0}
    assert list(groups) == ["number", "tq", "style:terse", UNTAGGED]
    tags = breakdown(ROWS, PHENOMENA)["tags"]
    assert tags["number:radio digits"]["missed"] == 2
    assert breakdown(ROWS)["phenomena"] == {
        UNTAGGED: {"cases": 3, "expected": 9, "hits": 6, "missed": 3, "invented": 3}
    }


def test_scores_that_do_not_add_up_are_an_error() -> None:
    with pytest.raises(TcccError, match="more med atoms missed than expected"):
        tally_types({"med": 1}, ["('med', 'a')", "('med', 'b')"], [])
    bad = row("a", {"med": 2}, [], []) | {"hits": 1}
    with pytest.raises(TcccError, match="do not add up"):
        breakdown([bad])


@pytest.fixture(scope="module")
def scorer() -> ModuleType:
    """The shared DD 1380 scorer (skips when it is not beside the checkout)."""
    try:
        return analysis.load_scorer()
    except TcccError as exc:
        pytest.skip(str(exc))


def test_the_invariants_hold_on_the_real_scorers_results(scorer: ModuleType) -> None:
    expected = {
        "casualties": [
            {
                "label": "1",
                "battle_roster": "AB1234",
                "mechanism": ["GSW"],
                "injuries": [{"site": "right thigh"}],
                "tourniquets": [{"limb": "RLE", "type": "CAT", "time": "1430"}],
                "vitals": [{"pulse": 110, "bp": "110/70"}, {"pulse": 96}],
                "medications": [{"name": "TXA", "dose": "2 g", "route": "IV"}],
            },
            {"label": "2", "mechanism": ["IED"], "vitals": [{"pulse": 120}]},
        ]
    }
    predicted = {
        "casualties": [
            {
                "label": "1",
                "battle_roster": "AB1234",
                "mechanism": ["GSW", "IED"],
                "tourniquets": [{"limb": "RLE", "type": "CAT", "time": "1500"}],
                "vitals": [{"pulse": 110, "resp_rate": 18}],
                "medications": [{"name": "tranexamic acid", "dose": "2000 mg", "route": "IO"}],
            }
        ]
    }
    score = scorer.score(expected, predicted)
    kinds = expected_types(scorer.atoms, expected)
    assert sum(kinds.values()) == score["expected_atoms"]
    per_type = tally_types(kinds, score["missed"], score["invented"])
    for kind, tally in per_type.items():
        assert tally.missed + tally.hits == kinds.get(kind, 0), kind
    assert sum(t.hits for t in per_type.values()) == score["hits"]
    assert sum(t.predicted for t in per_type.values()) == score["predicted_atoms"]
    assert per_type["tourniquet_time"].missed == 1 and per_type["tourniquet_time"].invented == 1
    assert per_type["med_route"].missed == 1 and per_type["med"].missed == 0


def test_format_breakdown_puts_each_source_in_a_column() -> None:
    text = breakdown(ROWS, PHENOMENA)
    voice = breakdown(ROWS[:1], PHENOMENA)
    table = format_breakdown([("text", text), ("piper", voice)])
    lines = table.splitlines()
    header = next(line for line in lines if line.strip().startswith("atom type "))
    assert header.split()[-2:] == ["text", "piper"]
    med = next(line for line in lines if line.strip().startswith("med "))
    assert med.split()[-2:] == ["1/1", "1/0"]
    assert next(line for line in lines if "tourniquet" in line).split()[-1] == "0/0"
    assert next(line for line in lines if "all atoms" in line).split()[-2:] == ["3/3", "2/2"]
    assert format_breakdown([]) == ""


# --- phenomena files ----------------------------------------------------------------------------


def test_phenomena_come_from_the_flag_else_beside_the_narrations(tmp_path: Path) -> None:
    narrations = tmp_path / "set" / "cases.json"
    narrations.parent.mkdir()
    assert analysis.phenomena_for(narrations) == {}
    (narrations.parent / "phenomena.json").write_text(json.dumps({"x": ["number:one"]}))
    assert analysis.phenomena_for(narrations) == {"x": ["number:one"]}
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"y": ["time:zulu"]}))
    assert analysis.phenomena_for(narrations, other) == {"y": ["time:zulu"]}
    with pytest.raises(TcccError, match="cannot read phenomena"):
        analysis.phenomena_for(narrations, tmp_path / "missing.json")


@pytest.mark.parametrize("content", ["[]", '{"a": "number:one"}', '{"a": [1]}', "not json"])
def test_a_malformed_phenomena_file_is_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "phenomena.json"
    path.write_text(content)
    with pytest.raises(TcccError, match=str(path.name)):
        load_phenomena(path)


def test_sources_are_text_then_each_voice_then_speech_pooled() -> None:
    text = {"mode": "text"}
    one = {"mode": "speech", "voices": {"piper": {"mode": "piper"}}}
    two = {"mode": "speech", "voices": {"espeak": {"mode": "espeak"}, "piper": {"mode": "piper"}}}
    assert [s["mode"] for s in analysis.sources([text, one])] == ["text", "piper"]
    assert [s["mode"] for s in analysis.sources([text, two])] == [
        "text",
        "espeak",
        "piper",
        "speech",
    ]


# --- the command on a narrations file of its own ------------------------------------------------


@pytest.fixture()
def own_narrations(tmp_path: Path, scorer: ModuleType) -> Iterator[Path]:
    """Two dev narrations copied to a file of their own, with phenomena beside it."""
    dev = default_narrations_path()
    if not dev.is_file():
        pytest.skip(f"no dev narrations at {dev}")
    cases = json.loads(dev.read_text(encoding="utf-8"))["cases"]
    picked = [next(c for c in cases if c["id"].startswith(p)) for p in ("gsw_tq_01", "d21_")]
    path = tmp_path / "mine" / "narrations.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"cases": picked}), encoding="utf-8")
    tags = {picked[1]["id"]: ["number:'one one zero'", "style:terse"]}
    (path.parent / "phenomena.json").write_text(json.dumps(tags), encoding="utf-8")
    yield path


def parse(*argv: str) -> argparse.Namespace:
    """The flags of `tccc bench analysis`."""
    parser = argparse.ArgumentParser()
    analysis.configure_parser(parser)
    return parser.parse_args(list(argv))


def test_analysis_from_text_reports_and_writes_the_breakdown(
    own_narrations: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    args = parse("--mode", "text", "--narrations", str(own_narrations), "--json", str(out))
    assert analysis.run_from_args(args, Settings()) == 0
    report = capsys.readouterr().out
    assert (
        "missed/invented per atom type:" in report and "missed/invented per phenomenon:" in report
    )
    assert "style:terse" in report and UNTAGGED in report
    (result,) = json.loads(out.read_text(encoding="utf-8"))
    assert result["mode"] == "text" and result["cases"] == 2
    assert set(result["breakdown"]["phenomena"]) == {"number", "style:terse", UNTAGGED}
    total = result["breakdown"]["total"]
    assert (total["expected"], total["hits"]) == (result["expected_atoms"], result["hits"])
    assert total["hits"] + total["invented"] == result["predicted_atoms"]


def test_analysis_voices_default_to_one_per_engine() -> None:
    args = parse()
    assert args.voices == "espeak,piper,kokoro"
    assert args.phenomena is None
