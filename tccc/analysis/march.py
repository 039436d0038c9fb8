"""MARCH-PAWS status of a casualty record: what is done, in progress or not assessed.

`march_status(record)` is a pure function of the record's items and vitals, classified with
the word lists of the rules file (tccc/data/tccc_rules.toml, `[vocabulary]`). Each step is:

- "done": the step was assessed and every problem noted in it has its intervention recorded;
- "in progress": a problem was noted whose intervention is not recorded yet (or, for
  circulation, shock signs persist);
- "not assessed": nothing recorded bears on the step.

A status says what was *recorded*, not what was done: the medic may have done more than they
said.
"""

from __future__ import annotations

from tccc.analysis.observations import Observations, observe, same_limb
from tccc.analysis.record import CasualtyRecord, Item
from tccc.analysis.rules_file import Rules

DONE = "done"
IN_PROGRESS = "in progress"
NOT_ASSESSED = "not assessed"

STEPS = (
    ("massive_hemorrhage", "M"),
    ("airway", "A"),
    ("respiration", "R"),
    ("circulation", "C"),
    ("hypothermia", "H"),
    ("pain", "P"),
    ("antibiotics", "A"),
    ("wounds", "W"),
    ("splinting", "S"),
)
"""The keys of `march_status` in MARCH-PAWS order, with the letter each shows as."""


def march_status(
    record: CasualtyRecord, rules: Rules | None = None, scene: CasualtyRecord | None = None
) -> dict[str, str]:
    """The status of each MARCH-PAWS step (keys of STEPS, in order) for one casualty.

    `scene` is the incident's scene record (the analyzer's "*" label): its mechanisms apply
    to this casualty (a penetrating mechanism makes a wound of unstated kind open).
    """
    obs = observe(record, rules, scene)
    return {
        "massive_hemorrhage": _massive_hemorrhage(obs),
        "airway": _airway(obs),
        "respiration": _respiration(obs),
        "circulation": _circulation(obs),
        "hypothermia": _hypothermia(obs),
        "pain": _pain(obs),
        "antibiotics": _antibiotics(obs),
        "wounds": _wounds(obs),
        "splinting": _splinting(obs),
    }


def _count(items: list[Item]) -> int:
    # Dressings, chest seals and treatments are stored once per distinct value with one fact
    # id per statement, so two "pressure dressing" statements count as two dressings.
    return sum(len(i.fact_ids) for i in items)


def _uncovered(obs: Observations, wounds: list[Item], extra: int = 0) -> int:
    """How many of `wounds` (plus `extra` wounds of unknown site) have no recorded cover.

    A tourniquet covers every wound on a limb that may be its limb; chest seals cover chest
    wounds, eye shields eye wounds, junctional tourniquets junctional wounds, one each; every
    dressing covers one remaining wound of any site.
    """
    limbs = [obs.limb(t.data.get("limb")) for t in obs.tourniquets]
    pools = {
        "chest_sites": _count(obs.items("breathing", "chest_seal_values", "value")),
        "eye_sites": _count(obs.treatments("eye_shield_values")),
        "junctional_sites": len(obs.junctional_tourniquets),
    }
    left = extra
    for wound in wounds:
        site = obs.site(wound)
        limb = obs.limb(site)
        if limb[1] is not None and any(same_limb(limb, t) for t in limbs):
            continue
        pool = next((p for p, n in pools.items() if n > 0 and obs.has(p, site)), None)
        if pool is not None:
            pools[pool] -= 1
            continue
        left += 1
    return max(0, left - _count(obs.items("dressing")))


def _massive_hemorrhage(obs: Observations) -> str:
    """M: done when every bleeding wound has a tourniquet or dressing (or none bleeds).

    Bleeding wounds: open wounds (eyes aside) and severe-bleeding injuries, plus each
    severe-bleeding finding. With none of them, a recorded tourniquet or dressing, or a finding
    such as "no massive bleeding", means the step was done; otherwise it was not assessed.
    """
    wounds = [
        i
        for i in obs.injuries
        if (obs.open_wound(i) and not obs.has("eye_sites", obs.site(i)))
        or obs.has("severe_bleeding_findings", obs.kind(i))
    ]
    bleeds = obs.found("severe_bleeding_findings")
    if not wounds and not bleeds:
        controls = obs.tourniquets or obs.items("dressing")
        return DONE if controls or obs.negative_findings("no_bleeding_findings") else NOT_ASSESSED
    return IN_PROGRESS if _uncovered(obs, wounds, len(bleeds)) else DONE


def _airway(obs: Observations) -> str:
    """A: done with any airway item (Intact, NPA, CRIC, ET-Tube, SGA), an "airway clear"
    finding or an alert casualty (latest AVPU A) without an airway problem; in progress with
    an airway problem finding (snoring, gurgling, ...) or latest AVPU P or U and no airway item.
    """
    if obs.items("airway"):
        return DONE
    if obs.found("airway_problem_findings") or obs.avpu in ("P", "U"):
        return IN_PROGRESS
    if obs.negative_findings("airway_clear_findings") or obs.avpu == "A":
        return DONE
    return NOT_ASSESSED


def _respiration(obs: Observations) -> str:
    """R: in progress with an open chest wound and no chest seal, a breath-sound finding and
    no decompression, or (with no breathing intervention at all) a latest respiratory rate or
    SpO2 beyond the thresholds or a distress finding; done when assessed (a breathing item, a
    respiratory rate or SpO2, or a "breath sounds equal" finding) with no such problem.
    """
    th = obs.rules.thresholds
    breathing = obs.items("breathing")
    rate, spo2 = obs.value("resp_rate"), obs.value("spo2")
    vitals_problem = (
        (rate is not None and not th.resp_rate_below <= rate <= th.resp_rate_above)
        or (spo2 is not None and spo2 < th.spo2_below)
        or bool(obs.found("resp_distress_findings"))
    )
    problems = (
        (obs.open_chest and not obs.items("breathing", "chest_seal_values", "value"))
        or (
            obs.found("breath_sound_findings")
            and not obs.items("breathing", "decompression_values", "value")
        )
        or (vitals_problem and not breathing)
    )
    if problems:
        return IN_PROGRESS
    assessed = breathing or rate is not None or spo2 is not None
    if assessed or obs.negative_findings("breathing_normal_findings"):
        return DONE
    return NOT_ASSESSED


def _circulation(obs: Observations) -> str:
    """C: in progress while shock signs persist (latest readings), or when IV/IO access, fluids
    or TXA are recorded but no perfusion reading is; done when a pulse, BP or radial pulse reading
    shows no shock signs.
    """
    if obs.shock_now:
        return IN_PROGRESS
    if any(sign in column for column in obs.columns for sign in ("pulse", "bp", "radial")):
        return DONE
    if obs.items("fluid") or obs.items("access") or obs.medications("txa_names"):
        return IN_PROGRESS
    return NOT_ASSESSED


def _hypothermia(obs: Observations) -> str:
    """H (hypothermia and head injury): done when hypothermia prevention is recorded and any
    head injury has SpO2 and BP readings to check its targets; in progress when only one of
    the two is there (warming without the head checks, or a head injury without warming).
    """
    warm = bool(obs.treatments("hypothermia_values"))
    head = bool(obs.head_injuries)
    checked = obs.value("spo2") is not None and obs.value("bp") is not None
    if warm and (not head or checked):
        return DONE
    return IN_PROGRESS if warm or head else NOT_ASSESSED


def _pain(obs: Observations) -> str:
    """P: done when an analgesic (or the combat pill pack) is recorded or the latest pain score
    is 0; in progress when pain above 0 is recorded without an analgesic."""
    if obs.medications("analgesic_names") or obs.treatments("cwmp_names"):
        return DONE
    pain = obs.value("pain")
    if pain is None:
        return NOT_ASSESSED
    return DONE if pain == 0 else IN_PROGRESS


def _antibiotics(obs: Observations) -> str:
    """A (antibiotics): done when an antibiotic is recorded; in progress with an open wound
    and none recorded (burns alone need none)."""
    if obs.medications("antibiotic_names"):
        return DONE
    return IN_PROGRESS if obs.open_wounds else NOT_ASSESSED


def _wounds(obs: Observations) -> str:
    """W: done when every open wound and burn has a cover (tourniquet on its limb, chest seal,
    eye shield, junctional tourniquet or a dressing) or no injury needs one; in progress when
    one is left uncovered; not assessed without injuries."""
    if not obs.injuries:
        return NOT_ASSESSED
    wounds = obs.open_wounds + [b for b in obs.burn_injuries if b not in obs.open_wounds]
    return IN_PROGRESS if _uncovered(obs, wounds) else DONE


def _splinting(obs: Observations) -> str:
    """S: done when a splint (or pelvic binder) is recorded; in progress with a fracture and
    no splint."""
    if obs.treatments("splint_values"):
        return DONE
    return IN_PROGRESS if obs.fractures else NOT_ASSESSED
