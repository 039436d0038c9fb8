"""MARCH rules: massive hemorrhage, respiration, circulation, hypothermia and head injury."""

from __future__ import annotations

from tccc.analysis.fact_values import (
    AVPU_RANK,
    as_number,
    as_text,
    avpu_letter,
    dedupe,
    display,
    truthy,
)
from tccc.analysis.observations import Observations, Sign, grouped, item_sign, labels, same_limb
from tccc.analysis.prompts import Context, Evaluator, Prompt, item_evidence, sign_evidence
from tccc.analysis.rules_file import Rule


def _m1(ctx: Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    prompts = []
    tourniquets = obs.tourniquets
    for index, tq in enumerate(tourniquets):
        hasty = truthy(tq.data.get("high_and_tight")) or truthy(tq.data.get("over_clothing"))
        if not hasty or obs.tourniquet_off(tq):
            continue
        limb = obs.limb(tq.data.get("limb"))
        replaced = any(
            not truthy(later.data.get("high_and_tight"))
            and not truthy(later.data.get("over_clothing"))
            and same_limb(limb, obs.limb(later.data.get("limb")))
            for later in tourniquets[index + 1 :]
        )
        if not replaced:
            text = rule.render("text", limb=as_text(tq.data.get("limb")) or "(limb not stated)")
            prompts.append(ctx.prompt(rule, text, tq.evidence))
    return prompts


def _m2(ctx: Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    convert_s = rule.number("conversion_h") * 3600
    never_s = rule.number("never_convert_h") * 3600
    warn_s = rule.number("warn_before_min") * 60
    prompts = []
    for tq in obs.tourniquets:
        if obs.tourniquet_off(tq):
            continue
        applied_s, spoken = obs.item_time_s(tq, ctx.clock)
        elapsed = ctx.now_s - applied_s
        limb = obs.limb(tq.data.get("limb"))
        holds = [
            item_sign(a, "amputation")
            for a in obs.amputations
            if same_limb(limb, obs.limb(obs.site(a)))
        ]
        holds += grouped("shock", obs.shock_now)
        fields: dict[str, object] = {
            "limb": as_text(tq.data.get("limb")) or "(limb not stated)",
            "applied": ctx.when(applied_s),
            "time_note": "" if spoken else rule.render("note_time_unstated"),
        }
        triggers = [*tq.evidence, *sign_evidence(holds)]
        if elapsed >= never_s:
            text = rule.render("text_never", **fields)
            prompts.append(ctx.prompt(rule, text, tq.evidence, "severity_never"))
        elif holds:
            text = rule.render("text_hold", reason=labels(holds), **fields)
            prompts.append(ctx.prompt(rule, text, triggers, "severity_hold"))
        else:
            late = elapsed >= convert_s
            deadline_s = applied_s + (never_s if late else convert_s)
            severity = "severity_late" if late else "severity"
            if ctx.now_s >= deadline_s - warn_s:
                severity += "_near"
            text = rule.render(
                "text_late" if late else "text", deadline=ctx.when(deadline_s), **fields
            )
            prompts.append(ctx.prompt(rule, text, tq.evidence, severity, deadline_s))
    return prompts


def _m3(ctx: Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    wounds = obs.junctional_wounds
    if not wounds or obs.hemostatic_dressings or obs.junctional_tourniquets:
        return []
    text = rule.render("text", sites=", ".join(obs.label(w) for w in wounds))
    return [ctx.prompt(rule, text, item_evidence(wounds))]


def _r1(ctx: Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    th = obs.rules.thresholds
    trauma = [item_sign(i, "torso trauma") for i in obs.torso_injuries]
    trauma += [item_sign(m, "blast trauma") for m in obs.blast]
    if not trauma or obs.items("breathing", "decompression_values", "value"):
        return []
    signs = []
    rate, spo2 = obs.value("resp_rate"), obs.value("spo2")
    if rate is not None and rate > th.resp_rate_above:
        signs.append(Sign(f"respiratory rate {display(rate)}", obs.evidence("resp_rate")))
    if spo2 is not None and spo2 < th.spo2_below:
        signs.append(Sign(f"SpO2 {display(spo2)}", obs.evidence("spo2")))
    found = obs.found("breath_sound_findings") + obs.found("resp_distress_findings")
    signs += [item_sign(f, obs.label(f)) for f in found]
    signs += grouped("shock", obs.shock_now)
    if not signs:
        return []
    text = rule.render("text", trauma=labels(trauma).capitalize(), signs=labels(signs))
    return [ctx.prompt(rule, text, [*sign_evidence(trauma), *sign_evidence(signs)])]


def _r2(ctx: Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    wounds = obs.open_chest
    if not wounds or obs.items("breathing", "chest_seal_values", "value"):
        return []
    text = rule.render("text", sites=", ".join(obs.label(w) for w in wounds))
    return [ctx.prompt(rule, text, item_evidence(wounds))]


def _c1(ctx: Context, rule: Rule) -> list[Prompt]:
    signs = ctx.obs.shock_now
    if not signs:
        return []
    return [ctx.prompt(rule, rule.render("text", signs=labels(signs)), sign_evidence(signs))]


def _injury_time(ctx: Context) -> tuple[float, bool]:
    """Session time of injury (True), else of the earliest event known (False)."""
    obs = ctx.obs
    scene = obs.scene.time_of_injury if obs.scene is not None else None
    stated = ctx.clock.to_session_s(obs.record.time_of_injury or scene)
    if stated is not None:
        return stated, True
    times = [ctx.clock.to_session_s(f.data.get("time")) for f in obs.live_facts]
    return min([t for t in times if t is not None] + [obs.record.first_s]), False


def _c2(ctx: Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    if obs.medications("txa_names"):
        return []
    reasons = grouped("shock signs", obs.shock_ever)
    reasons += [item_sign(a, "amputation") for a in obs.amputations]
    reasons += [item_sign(i, "penetrating torso trauma") for i in obs.penetrating_torso]
    reasons += grouped("severe bleeding", obs.severe_bleeding)
    reasons += [item_sign(i, "significant head injury") for i in obs.significant_head_injuries]
    if not reasons:
        return []
    injury_s, known = _injury_time(ctx)
    deadline_s = injury_s + rule.number("window_h") * 3600
    if ctx.now_s > deadline_s:
        return []  # past the window: TXA is no longer indicated
    near = ctx.now_s >= deadline_s - rule.number("warn_before_min") * 60
    text = rule.render(
        "text",
        injury=ctx.when(injury_s),
        injury_note="" if known else rule.render("note_injury_unknown"),
        deadline=ctx.when(deadline_s),
        reasons=labels(reasons),
    )
    severity = "severity_near" if near else "severity"
    return [ctx.prompt(rule, text, sign_evidence(reasons), severity, deadline_s)]


def _c3(ctx: Context, rule: Rule) -> list[Prompt]:
    signs = ctx.obs.shock_now
    if not signs or ctx.obs.blood_products:
        return []
    return [ctx.prompt(rule, rule.render("text", signs=labels(signs)), sign_evidence(signs))]


def _c4(ctx: Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    if not obs.blood_products or obs.medications("calcium_names"):
        return []
    first = obs.blood_products[0]
    text = rule.render("text", product=as_text(first.data.get("name")))
    return [ctx.prompt(rule, text, first.evidence)]


def _h1(ctx: Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    if not obs.trauma or obs.treatments("hypothermia_values"):
        return []
    return [ctx.prompt(rule, rule.render("text"), sign_evidence(obs.trauma))]


def _herniation(obs: Observations, rule: Rule) -> list[Sign]:
    signs = []
    pupils = obs.latest.get("pupils")
    if pupils is not None and obs.has("herniation_pupils", pupils.value):
        signs.append(Sign(f"pupils {as_text(pupils.value)}", dedupe([pupils.evidence])))
    signs += [item_sign(f, obs.label(f)) for f in obs.found("posturing_findings")]
    # Falling consciousness: the latest AVPU worse than an earlier one, or GCS down from its best.
    avpu = [
        (r, AVPU_RANK[letter])
        for c in obs.columns
        if (r := c.get("avpu")) is not None and (letter := avpu_letter(r.value)) is not None
    ]
    if len(avpu) > 1 and avpu[-1][1] > min(rank for _, rank in avpu[:-1]):
        signs.append(Sign("falling AVPU", dedupe([avpu[-1][0].evidence])))
    gcs = [
        (r, score)
        for c in obs.columns
        if (r := c.get("gcs")) is not None and (score := as_number(r.value)) is not None
    ]
    if len(gcs) > 1 and max(g for _, g in gcs[:-1]) - gcs[-1][1] >= rule.number("gcs_drop"):
        signs.append(Sign(f"GCS down to {display(gcs[-1][1])}", dedupe([gcs[-1][0].evidence])))
    return signs


def _h2(ctx: Context, rule: Rule) -> list[Prompt]:
    obs = ctx.obs
    injuries = obs.head_injuries
    if not injuries:
        return []
    below = []
    spo2, systolic = obs.value("spo2"), obs.value("bp")
    if spo2 is not None and spo2 < rule.number("spo2_target_above"):
        below.append(Sign(f"SpO2 {display(spo2)}", obs.evidence("spo2")))
    if systolic is not None and systolic < rule.number("systolic_target_min"):
        below.append(Sign(f"systolic {display(systolic)}", obs.evidence("bp")))
    note = rule.render("note_below_target", values=labels(below)) if below else ""
    herniation = _herniation(obs, rule)
    triggers = [*item_evidence(injuries), *sign_evidence(below), *sign_evidence(herniation)]
    if herniation:
        text = rule.render("text_herniation", signs=labels(herniation), below=note)
        return [ctx.prompt(rule, text, triggers, "severity_herniation")]
    severity = "severity_below_target" if below else "severity"
    return [ctx.prompt(rule, rule.render("text", below=note), triggers, severity)]


EVALUATORS: dict[str, Evaluator] = {
    "M1": _m1,
    "M2": _m2,
    "M3": _m3,
    "R1": _r1,
    "R2": _r2,
    "C1": _c1,
    "C2": _c2,
    "C3": _c3,
    "C4": _c4,
    "H1": _h1,
    "H2": _h2,
}
"""The evaluator of each MARCH rule by rule id."""
