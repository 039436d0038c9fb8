"""PAWS and evacuation rules: pain, antibiotics and eye wounds, burns, evacuation window."""

from __future__ import annotations

import math

from tccc.analysis.fact_values import as_number, as_text, display, normalise_words
from tccc.analysis.observations import Observations, Sign, item_sign, labels
from tccc.analysis.prompts import Context, Evaluator, Prompt, item_evidence, sign_evidence
from tccc.analysis.rules_file import Rule


def _pain(obs: Observations, rule: Rule, upper: bool = True) -> float | None:
    """The latest pain score when it is in the rule's pain_min..pain_max range."""
    pain = obs.value("pain")
    if pain is None or pain < rule.number("pain_min"):
        return None
    return None if upper and pain > rule.number("pain_max") else pain


def _p1(ctx: Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    pain = _pain(obs, rule)
    if pain is None or obs.avpu != "A" or obs.shock_now or obs.resp_distress:
        return []
    if obs.medications("cwmp_names") or obs.treatments("cwmp_names"):
        return []
    text = rule.render("text", pain=pain)
    return [ctx.prompt(rule, text, [*obs.evidence("pain"), *obs.evidence("avpu")])]


def _p2_applies(obs: Observations, rule: Rule) -> float | None:
    pain = _pain(obs, rule)
    if pain is None or obs.shock_now or obs.resp_distress or obs.at_risk:
        return None
    return None if obs.medications("otfc_names") else pain


def _p3_applies(obs: Observations, rule: Rule) -> tuple[float, list[Sign]] | None:
    pain = _pain(obs, rule, upper=False)
    why = obs.shock_now + obs.resp_distress + obs.at_risk
    if pain is None or not why or obs.medications("ketamine_names"):
        return None
    return pain, why


def _p2(ctx: Context, rule: Rule) -> list[Prompt]:
    pain = _p2_applies(ctx.obs, rule)
    if pain is None:
        return []
    return [ctx.prompt(rule, rule.render("text", pain=pain), ctx.obs.evidence("pain"))]


def _p3(ctx: Context, rule: Rule) -> list[Prompt]:
    found = _p3_applies(ctx.obs, rule)
    if found is None:
        return []
    pain, why = found
    text = rule.render("text", pain=pain, why=labels(why))
    return [ctx.prompt(rule, text, [*ctx.obs.evidence("pain"), *sign_evidence(why)])]


def _p4(ctx: Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    if obs.avpu_recorded:
        return []
    given = obs.medications("opioid_ketamine_names")
    why = [item_sign(m, f"{as_text(m.data.get('name'))} recorded") for m in given]
    rules = obs.rules
    if _p2_applies(obs, rules.rule("P2")) is not None:
        why.append(Sign("OTFC suggested", obs.evidence("pain")))
    if _p3_applies(obs, rules.rule("P3")) is not None:
        why.append(Sign("ketamine suggested", obs.evidence("pain")))
    if not why:
        return []
    return [ctx.prompt(rule, rule.render("text", why=labels(why)), sign_evidence(why))]


def _a1(ctx: Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    wounds = obs.open_wounds
    if not wounds or obs.medications("antibiotic_names"):
        return []
    text = rule.render("text", sites=", ".join(obs.label(w) for w in wounds))
    return [ctx.prompt(rule, text, item_evidence(wounds))]


def _a2(ctx: Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    wounds = obs.eye_wounds
    missing = [] if obs.treatments("eye_shield_values") else ["eye shield"]
    missing += [] if obs.medications("antibiotic_names") else ["antibiotic"]
    if not wounds or not missing:
        return []
    sites = ", ".join(obs.label(w) for w in wounds)
    text = rule.render("text", sites=sites, missing=", ".join(missing))
    return [ctx.prompt(rule, text, item_evidence(wounds))]


def _estimate_tbsa(obs: Observations, rule: Rule) -> float | None:
    """Rule-of-nines sum of the whole regions named in burn injury sites (paired per side)."""
    nines = rule.table("rule_of_nines")
    paired = set(rule.params.get("paired", ()))
    regions: set[tuple[str, str]] = set()
    for injury in obs.burn_injuries:
        site = obs.site(injury)
        region = next((r for r in nines if obs.has(f"region_{r}", site)), None)
        if region is None:
            continue
        if region not in paired:
            regions.add((region, ""))
            continue
        side, _ = obs.limb(site)
        # One limb unless "both"; an unstated side counts once.
        sides = ["right", "left"] if obs.has("both_words", site) else [side or "right"]
        regions.update((region, s) for s in sides)
    if not regions:
        return None
    return sum(float(nines[region]) for region, _ in regions)


def _b1(ctx: Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    burn_items = obs.items("burn")
    mechanisms = obs.items("mechanism", "burn_mechanisms", "value")
    sources = burn_items + obs.burn_injuries + mechanisms
    if not sources:
        return []
    triggers = item_evidence(sources)
    faces = [
        i
        for i in obs.burn_injuries
        if obs.has("face_sites", obs.site(i)) or obs.has("head_sites", obs.site(i))
    ]
    face = rule.render("note_face") if faces else ""
    stated = as_number(burn_items[-1].data.get("tbsa")) if burn_items else None
    tbsa = stated if stated is not None else _estimate_tbsa(obs, rule)
    if tbsa is None:
        nines = rule.table("rule_of_nines")
        paired = set(rule.params.get("paired", ()))
        parts = [
            f"{'each ' if r in paired else ''}{r.replace('_', ' ')} {display(float(v))}"
            for r, v in nines.items()
        ]
        return [ctx.prompt(rule, rule.render("text", nines=", ".join(parts), face=face), triggers)]
    estimated = "" if stated is not None else rule.render("note_estimated")
    if tbsa <= rule.number("fluid_above_tbsa"):
        text = rule.render("text_small", tbsa=tbsa, estimated=estimated, face=face)
        return [ctx.prompt(rule, text, triggers)]
    rate = tbsa * rule.number("ml_h_per_tbsa")
    weight_kg = as_number(obs.record.identity.get("weight_kg"))
    if weight_kg is None:
        weight = rule.render("note_weight_unknown")
    elif weight_kg < rule.number("weight_min_kg"):
        weight = rule.render("note_weight_low", weight_kg=weight_kg)
    elif weight_kg <= rule.number("weight_base_max_kg"):
        weight = rule.render("note_weight_known", weight_kg=weight_kg)
    else:
        steps = math.floor(
            (weight_kg - rule.number("weight_base_max_kg")) / rule.number("extra_per_kg")
        )
        extra = steps * rule.number("extra_ml_h")
        rate += extra
        weight = rule.render("note_weight_extra", weight_kg=weight_kg, extra=extra)
    text = rule.render(
        "text_fluids", tbsa=tbsa, estimated=estimated, rate_ml_h=rate, weight=weight, face=face
    )
    if "weight_kg" in obs.record.identity_evidence:
        triggers.append(obs.record.identity_evidence["weight_kg"])
    return [ctx.prompt(rule, text, triggers, "severity_fluids")]


def _e1(ctx: Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    category = obs.record.evac_category
    if not category:
        return []
    windows = {normalise_words(k): float(v) for k, v in rule.table("window_h").items()}
    window_h = windows.get(normalise_words(category))
    if window_h is None:
        return []
    stated = [f for f in obs.live_facts if f.kind == "evac"]
    start_s = stated[-1].session_s if stated else obs.record.first_s
    deadline_s = start_s + window_h * 3600
    fields = {"category": category, "window_h": window_h, "deadline": ctx.when(deadline_s)}
    triggers = [stated[-1].evidence] if stated else []
    if ctx.now_s > deadline_s:
        text = rule.render("text_overdue", **fields)
        return [ctx.prompt(rule, text, triggers, "severity_overdue", deadline_s)]
    near = ctx.now_s >= deadline_s - rule.number("warn_before_min") * 60
    severity = "severity_near" if near else "severity"
    return [ctx.prompt(rule, rule.render("text", **fields), triggers, severity, deadline_s)]


EVALUATORS: dict[str, Evaluator] = {
    "P1": _p1,
    "P2": _p2,
    "P3": _p3,
    "P4": _p4,
    "A1": _a1,
    "A2": _a2,
    "B1": _b1,
    "E1": _e1,
}
"""The evaluator of each PAWS and evacuation rule by rule id."""
