"""Extractors for numbers with meaning: vital signs, drugs and fluids with dose, route and time,
vascular access, burn area. Pure functions of one sentence, like those in `extractors`."""

from __future__ import annotations

import re

from tccc.analysis.extractors import Found, site_at
from tccc.analysis.lexicon import Drug, Lexicon
from tccc.analysis.text import Span, clauses, negated, times
from tccc.events import Scalar

_FILL = (
    r"(?:\s+(?:is|was|of|at|now|came|come|went|going|dropping|dropped|down|up|to|about|around"
    r"|only|weak|strong|thready|running|approximately|roughly|like|still|maybe|in|the|'s|’s"
    # "radial pulse is good, about 110": a word on how it feels, then the count
    r"|good|palpable|present|fast|rapid|slow|regular|bounding|uh|um|er|ah|back|came|come|went"
    r"|dropped|climbed|still"
    # "pulse ox reads 87", "sats showing 91", "heart rate sitting at 120", "hovering around 90"
    r"|reads|reading|showing|shows|sitting|hovering|holding|wrist|neck"
    # "the probe on his earlobe reads 93"
    r"|on|his|her|earlobe|ear|finger|forehead)|\s*,){0,6}"
)
_LOC = r"(radial|carotid|femoral|pedal|brachial)"
_PULSE = re.compile(
    # "pulse 110", "heart rate's 120", "radial's about 110", "tachy at 130", "tachycardic, 140"
    rf"\b(?:{_LOC}\s+)?(?:pulse(?:\s+rate)?|heart\s+rate|hr|(?:radial|carotid|femoral|brachial)"
    # "radial 110", "radial strong at 86", "his radial came back at about 110"
    r"(?=['’]s|(?:\s+(?:strong|weak|thready|good|bounding|came|back|is|at|of|about|around"
    r"|roughly|maybe|now))*\s+\d)|tachy"
    r"|tachycardic|brady|bradycardic)(?:['’]s)?\b:?,?"
    rf"{_FILL}\s+(\d{{2,3}})(?!\s*(?:/|%|mg|g|mcg|ml|minutes|min))"
    rf"(?:\s+{_LOC})?(?:\s+and\s+(strong|weak|thready))?",
    re.I,
)
_PULSE_QUALITY = re.compile(
    rf"\b(?:(no|absent|weak|strong|thready|good|palpable)\s+)?{_LOC}\s+pulse(?:s)?\b(?:\s+(?:is|was)\s+(weak|strong|absent|thready))?",
    re.I,
)
# "18 breaths a minute", "about 90 beats per minute": the count said before its unit.
_PER_MINUTE = re.compile(r"\b(\d{1,3})\s+(breaths?|beats?)\s+(?:a|per|each)\s+min(?:ute)?\b", re.I)
_SHARED_SIGNS = {
    "pulses": "pulse",
    "heart rates": "pulse",
    "pressures": "bp",
    "bps": "bp",
    "resps": "resp_rate",
    "pain scores": "pain",
    "pains": "pain",
    "pain": "pain",
}
_SHARED_SIGN = re.compile(
    r"\W*(pulses|heart\s+rates|pressures|bps|resps|pain\s+scores|pains|pain(?=\s*,))\b", re.I
)
# "..., Obregon 104, the gunner 130, and Fenn 120": a casualty then a value, in a list.
_EACH_VALUE = re.compile(
    r"(?:[,:]|\band\b)\s*(?:and\s+)?(?:the\s+)?[A-Za-z][\w'’-]*(?:\s+[A-Za-z][\w'’-]*)?\s+"
    r"(\d{1,3}(?:/\d{2,3})?)(?=\s*(?:,|$|and\b|\.))"
)
_RESP = re.compile(
    r"\b(?:resp(?:iratory)?\s+rate|resps?|rr|respirations?|breathing(?:\s+rate)?|breaths"
    # How Whisper hears "resp rate" said quickly or with an accent: one word ("resprate",
    # "respirate", "resperate"), "respray", "respite", "rest rate", "raspberry". Only with a
    # number straight after, in the range a respiratory rate takes.
    r"|res[a-z]?p[a-z]*rate|respray|respite|rest\s+rate|rasp\s+rate|raspberry)\b:?"
    rf"{_FILL}\s+(\d{{1,2}})\b(?!\s*(?:l\b|lpm|liters?|%|/|mg|ml))",
    re.I,
)
_SPO2 = re.compile(
    r"\b(?:sats?|spo2|o2\s+sats?|oxygen\s+saturation|saturation|pulse\s+ox|pulse\s+oximeter"
    r"|oximeter|(?:finger\s+|ear\s+|earlobe\s+)?probe)(?:['’]s)?\b:?"
    rf"{_FILL}\s+(\d{{2,3}})\s*%?",
    re.I,
)
# Whisper also writes "BP" as "Bb" or "BBA", glues it to the number ("Bp86 over 50"), splits
# the hundreds off ("Bp1 68/90" is 168/90) and leaves "over" when it could not read a number.
_BP = re.compile(
    r"\b(?:bp|bb|bba|blood\s+pressure|pressure)(?:['’]s)?(?:\b:?,?(?:\s+(?:is|was|of|now|about"
    r"|around|roughly|approximately|approx|like|only|down\s+to|up\s+to|at|dropped\s+to|came\s+up"
    r"\s+to|uh|um|er),?)*\s+|(?=\d))"
    r"(?:([12])\s+(?=\d{2}\b))?(\d{2,3})\s*(?:/|\s+over\s+)(\d{2,3})\b",
    re.I,
)
# Whisper's "sats 97" heard as "set 97", "check 99%", "shot 82": only a reading in the range a
# saturation takes, straight after the word, and no dose or length after it.
_SPO2_HEARD = re.compile(
    r"\b(?:set|check|chat|touch|shot)\s+(\d{2,3})(?:\s*%)?(?![\w/.]|\s*(?:%|mg|g\b|mcg|ml|l\b"
    r"|ga\b|gauge|min|minutes?|hours?|meters?|m\b|kg|units?|casualt))",
    re.I,
)
# "pain 7", "pain's a seven", "pain is an eight out of ten", "rates his pain at a six", "pain
# score of 4", "she says her pain is about a 5".
_PAIN = re.compile(
    r"\bpain(?:['’]s)?\b:?,?(?:\s+(?:is|was|of|score|level|at|now|a|an|about|around|like|maybe"
    r"|rated|as|currently|still|he|she|says|said|came|went|down|up|to|uh|um))*,?\s+(\d{1,2})\b"
    # "pain, 0 to 10?" asks; it says no pain
    r"(?!\s*(?:mg|mcg|g|ml|minutes?|min)\b)(?!\s*(?:to|-|through)\s*10\b)"
    r"(?:\s*(?:out\s+of|/)\s*10)?"
    # Whisper's "paint 8 out of 10": only with the scale said.
    r"|\bpaint\s+(\d{1,2})\s+out\s+of\s+10\b"
    # "an 8 out of 10 for pain", "8 out of 10 pain"
    r"|\b(\d{1,2})\s*(?:out\s+of|/)\s*10\s+(?:for\s+)?pain\b"
    # "headache four out of ten": pain with the scale said
    r"|\b(?:headache|head\s+pain)\s+(?:is\s+)?(?:a\s+)?(\d{1,2})\s*(?:out\s+of|/)\s*10\b",
    re.I,
)
_GCS = re.compile(r"\bgcs\b:?(?:\s+(?:is|was|of))*\s+(\d{1,2})\b", re.I)
_AVPU_LETTER = re.compile(
    r"\bavpu:?\s+(?:is\s+|of\s+)?(a|v|p|u|alert|voice|verbal|pain|unresponsive)\b", re.I
)
_AVPU_WORDS = (
    ("U", re.compile(r"\b(?:unresponsive|unconscious|not\s+responding|no\s+response)\b", re.I)),
    (
        "P",
        re.compile(
            r"\b(?:responds?|responding|responsive|response|reacts?|reacted|reacting|withdraws"
            r"|withdrew|moans?|moaned|groans?|moves|moving|moved|flinches|flinched|localizes"
            r"|localizing|grimaces|grimacing)\s+(?:only\s+)?to\s+(?:painful\s+stimul\w+|pain"
            r"|a\s+sternal\s+rub|sternal\s+rub)\b",
            re.I,
        ),
    ),
    (
        "V",
        re.compile(
            r"\b(?:responds?|responding|responsive|response|reacts?|reacted|reacting|opens\s+"
            r"(?:his|her)\s+eyes)\s+(?:only\s+)?to\s+(?:voice|verbal|his\s+name|her\s+name"
            r"|(?:my\s+)?voice|verbal\s+stimul\w+|shouting|yelling)\b"
            # "only answers when I shout at him"
            r"|\b(?:answers|responds|reacts|opens\s+(?:his|her)\s+eyes)\s+(?:only\s+)?when\s+"
            r"(?:I|you|we)\s+(?:shout|yell|call|talk)",
            re.I,
        ),
    ),
    (
        "U",
        re.compile(
            r"\b(?:out\s+cold|knocked\s+out|not\s+responsive|no\s+response\s+to\s+pain)\b", re.I
        ),
    ),
    (
        "V",
        re.compile(
            r"\bopens\s+(?:his|her)\s+eyes\b[\w\s,']{0,30}?\b(?:talk|talks|voice|speak|spoken"
            r"|call|yell|shout)",
            re.I,
        ),
    ),
    ("A", re.compile(r"\b(?:alert|awake|a\s*and\s*o\s*(?:x|times)?\s*[1-4])\b", re.I)),
)
_PUPILS = re.compile(
    r"\b((?:left|right)\s+pupil|pupils)\b\s+((?:is\s+|are\s+)?(?:\w+)(?:\s+and\s+\w+)?)", re.I
)
_VITALS_TIME = re.compile(
    r"\b(?:(first|second|third|repeat|new|next)\s+)?vitals\b(?:\s+at\s+((?:[01]\d|2[0-3])[0-5]\d))?",
    re.I,
)

_RESTARTED = re.compile(r",\s*(?:(?:uh|um),?\s*)?(\d{2,3})\b(?![/.\d])(?!\s*(?:%|mg|ml|g))")
_VITALS_LIST = re.compile(
    r"\b(?:pulse|heart\s+rate|hr|sats?|spo2|resp\w*|vitals|breathing)\b", re.I
)
_BARE_BP = re.compile(r"(?<![\w/.])(\d{2,3})/(\d{2,3})(?![\w/.%])")

_RANGES = {
    "pulse": (20, 250),
    "resp_rate": (2, 80),
    "spo2": (40, 100),
    "pain": (0, 10),
    "gcs": (3, 15),
}
_AVPU_NAMES = {"alert": "A", "voice": "V", "verbal": "V", "pain": "P", "unresponsive": "U"}


def valid_vital(sign: str, value: int) -> bool:
    """True when a reading of a numeric sign is physiologically possible (else no fact)."""
    low, high = _RANGES.get(sign, (1, 0))
    return low <= value <= high


def vitals(sentence: Span, lex: Lexicon) -> list[Found]:
    """Vital signs with their spans; values outside physiological ranges are not facts."""
    out: list[Found] = []
    text = sentence.text
    for m in _VITALS_TIME.finditer(text):
        out.append(_found(sentence, "vitals_time", {"time": m.group(2)}, m.start(), m.end()))
    for m in _PULSE.finditer(text):
        value = int(m.group(2))
        again = _RESTARTED.match(text, m.end(2))
        if again and abs(int(again.group(1)) - value) <= 20:
            value = int(again.group(1))  # "pulse is 80, 86": the count said again, finished
        if valid_vital("pulse", value):
            data: dict[str, Scalar] = {"sign": "pulse", "value": value}
            location = m.group(1) or m.group(3)
            if location:
                data["location"] = location.lower()
            if m.group(4):
                data["quality"] = m.group(4).lower()
            out.append(_found(sentence, "vital", data, m.start(), m.end()))
    taken = [(f.start, f.end) for f in out if f.data.get("sign") == "pulse"]
    for m in _PULSE_QUALITY.finditer(text):
        s, e = sentence.start + m.start(), sentence.start + m.end()
        if any(a <= s < b or s <= a < e for a, b in taken):
            continue
        quality = (m.group(1) or m.group(3) or "present").lower()
        quality = {"no": "absent", "good": "strong", "palpable": "present"}.get(quality, quality)
        data = {"sign": "pulse_quality", "value": quality, "location": m.group(2).lower()}
        out.append(_found(sentence, "vital", data, m.start(), m.end()))
    for sign, pattern in (("resp_rate", _RESP), ("spo2", _SPO2), ("pain", _PAIN), ("gcs", _GCS)):
        for m in pattern.finditer(text):
            value = int(m.group(1) or m.group(m.lastindex or 1))
            if valid_vital(sign, value):
                out.append(
                    _found(sentence, "vital", {"sign": sign, "value": value}, m.start(), m.end())
                )
    head = _SHARED_SIGN.match(text)
    if head is not None:
        # "Pulses, Ngata 110, Obregon 104, Fenn 120": one sign said once for several casualties
        sign = _SHARED_SIGNS[re.sub(r"\s+", " ", head.group(1).lower())]
        for m in _EACH_VALUE.finditer(text, head.end()):
            said = m.group(1)
            if _VITALS_LIST.search(m.group(0)) or re.search(
                r"\b(?:bp|pressure|pain)\b", m.group(0), re.I
            ):
                continue  # "sats 91, pulse 54": another sign, not another casualty
            if sign == "bp" and "/" in said:
                each: dict[str, Scalar] = {"sign": "bp", "value": said}
            elif sign != "bp" and "/" not in said and valid_vital(sign, int(said)):
                each = {"sign": sign, "value": int(said)}
            else:
                continue
            out.append(_found(sentence, "vital", each, m.start(1), m.end(1)))
    for m in _PER_MINUTE.finditer(text):
        sign = "resp_rate" if m.group(2).lower().startswith("breath") else "pulse"
        value = int(m.group(1))
        said = any(
            f.data.get("sign") == sign and f.start <= sentence.start + m.start() < f.end
            for f in out
        )
        if valid_vital(sign, value) and not said:
            out.append(
                _found(sentence, "vital", {"sign": sign, "value": value}, m.start(), m.end())
            )
    for m in _SPO2_HEARD.finditer(text):
        value = int(m.group(1))
        if 70 <= value <= 100:
            out.append(
                _found(sentence, "vital", {"sign": "spo2", "value": value}, m.start(), m.end())
            )
    said_bp = [(m.start(), m.end()) for m in _BP.finditer(text)]
    if _VITALS_LIST.search(text):
        # "heart rate 118, 104/61, sats 95": a pressure said bare in a list of vital signs.
        for m in _BARE_BP.finditer(text):
            if not any(a <= m.start() < b for a, b in said_bp):
                sys_, dia = int(m.group(1)), int(m.group(2))
                if 60 <= sys_ <= 250 and 30 <= dia <= 150 and dia < sys_:
                    data = {"sign": "bp", "value": f"{sys_}/{dia}"}
                    out.append(_found(sentence, "vital", data, m.start(), m.end()))
    for m in _BP.finditer(text):
        sys_, dia = int((m.group(1) or "") + m.group(2)), int(m.group(3))
        if 40 <= sys_ <= 300 and 20 <= dia <= 200 and dia < sys_:
            out.append(
                _found(
                    sentence, "vital", {"sign": "bp", "value": f"{sys_}/{dia}"}, m.start(), m.end()
                )
            )
    out.extend(_avpu(sentence))
    for m in _PUPILS.finditer(text):
        pupils = f"{m.group(1)} {m.group(2)}".lower()
        out.append(
            _found(sentence, "vital", {"sign": "pupils", "value": pupils}, m.start(), m.end())
        )
    return out


def _avpu(sentence: Span) -> list[Found]:
    for m in _AVPU_LETTER.finditer(sentence.text):
        word = m.group(1).lower()
        letter = _AVPU_NAMES.get(word, word.upper())
        return [_found(sentence, "vital", {"sign": "avpu", "value": letter}, m.start(), m.end())]
    for clause in clauses(sentence):
        for letter, pattern in _AVPU_WORDS:
            hit = pattern.search(clause.text)
            if hit and not negated(
                clause, clause.start + hit.start(), clause.start + hit.end(), sentence
            ):
                return [
                    _found(
                        clause, "vital", {"sign": "avpu", "value": letter}, hit.start(), hit.end()
                    )
                ]
    return []


_DOSE = re.compile(r"\b(\d+(?:\.\d+)?)\s*(g|gm|grams?|mg|mcg|µg|ml|mL|units?|u)\b", re.I)
_VOLUME = re.compile(
    r"\b(\d+(?:\.\d+)?)\s*(ml|mL|cc|l|liters?|litres?)\b(?!\s*(?:an|per|/)\s*h)", re.I
)
# "500 of Hextend", "a thousand of saline": millilitres go without saying before a fluid.
_BARE_VOLUME = re.compile(r"\b([1-9]\d{2,3})()\s+(?:mls?\s+)?of\s+(?:the\s+)?$", re.I)
_RATE = re.compile(r"\b(\d+(?:\.\d+)?)\s*(?:ml|mL|cc)?\s*(?:an|per|/)\s*(?:hour|hr|h)\b", re.I)
_UNITS = re.compile(r"\b(\d+)\s+units?\b", re.I)
_ACCESS = re.compile(
    r"\b(?:(\d{2})\s*(?:ga|gauge)\s+)?(iv|io|ez-io|fast\s*1|saline\s+lock)\b", re.I
)
_ACCESS_VERB = re.compile(
    r"\b(?:started|got|placed|put|established|inserted|in|access|line)\b", re.I
)
_UNIT_NAMES = {
    "g": "g",
    "gm": "g",
    "gram": "g",
    "grams": "g",
    "mg": "mg",
    "mcg": "mcg",
    "µg": "mcg",
    "ml": "mL",
    "unit": "units",
    "units": "units",
    "u": "units",
}


def _segments(
    clause: Span, matches: list[tuple[str, re.Match[str]]]
) -> list[tuple[str, re.Match[str], str, str]]:
    """For each match: the clause text before it and after it up to its neighbours."""
    out = []
    for i, (name, m) in enumerate(matches):
        lo = matches[i - 1][1].end() if i else 0
        hi = matches[i + 1][1].start() if i + 1 < len(matches) else len(clause.text)
        out.append((name, m, clause.text[lo : m.start()], clause.text[m.end() : hi]))
    return out


# "IN" (intranasal) is only a route in capitals: in lower case it is the preposition.
_INTRANASAL = re.compile(r"(?<![\w-])IN(?![\w-])")


def _route(lex: Lexicon, before: str, after: str) -> str | None:
    found = lex.routes.find(after) or lex.routes.find(before)[-1:]
    if found:
        return found[0][0]
    return "IN" if _INTRANASAL.search(after) else None


_ALLERGY_BEFORE = re.compile(
    r"\b(?:allerg\w*(?:\s+to)?|reaction\s+to|reacts\s+to)(?:\s*[:,-]?\s*\w+){0,2}\s*$", re.I
)
_UNITLESS_AFTER = re.compile(r"\s*,?\s*(?:of\s+)?(\d+(?:\.\d+)?)\b(?!\s*(?:[/%:.]\d|\d|%))")
_UNITLESS_BEFORE = re.compile(r"\b(\d+(?:\.\d+)?)\s+(?:of\s+)(?:the\s+)?$")
# "2 g TXA", "50 mg of ketamine", "a 20 mg dose of ketamine", "20 mg worth of ketamine"
_DOSE_BEFORE = re.compile(
    rf"{_DOSE.pattern}\s*(?:(?:dose|push|bolus|worth)\s+)?(?:of\s+)?(?:the\s+)?$", re.I
)
_BOTH = re.compile(r"\b(?:both|all|each|all\s+of\s+them)\b", re.I)


def medications(sentence: Span, lex: Lexicon) -> list[Found]:
    """Drugs with dose, route and time: "2 g TXA slow IV push at 1445", "ketamine 50 mg IM",
    "ketamine, fifty milligrams IM", "fifty of ketamine up the nose", "moxi four hundred PO"."""
    out: list[Found] = []
    cls = clauses(sentence)
    for i, clause in enumerate(cls):
        matches = lex.drugs.find(clause.text)
        nxt = cls[i + 1] if i + 1 < len(cls) and not lex.drugs.find(cls[i + 1].text) else None
        for name, m, before, after in _segments(clause, matches):
            start, end = clause.start + m.start(), clause.start + m.end()
            if negated(clause, start, end, sentence):
                continue
            if _ALLERGY_BEFORE.search(clause.text[: m.start()]):
                continue  # "allergic to morphine": a drug he must not get
            info = lex.drug_info[name]
            dose, extras = _dose(clause, m, before, after, nxt, info)
            clock = [t for t in times(clause) if t.start >= clause.start + m.start() - len(before)]
            if not clock and nxt is not None:
                clock = times(nxt)
            if clock:
                extras.append((clock[0].start, clock[0].end))
            route = None if info.route_in_name else _route(lex, before, after)
            if route is None and nxt is not None and not info.route_in_name:
                route = _route(lex, "", nxt.text)  # "ketamine, fifty milligrams IM"
            data: dict[str, Scalar] = {
                "category": info.category,
                "name": name,
                "dose": dose,
                "route": route,
                "time": clock[0].hhmm if clock else None,
            }
            out.append(Found("medication", data, start, end, tuple(extras)))
    return _shared_route_and_time(sentence, _one_form(out), lex)


def _one_form(found: list[Found]) -> list[Found]:
    """ "Fentanyl, the lollipop, 800 mics": the drug named, then its form, is one drug (the
    form's)."""
    otfc = [f for f in found if f.data["name"] == "OTFC"]
    return [
        f
        for f in found
        if not (f.data["name"] == "Fentanyl" and any(0 <= o.start - f.end <= 16 for o in otfc))
    ]


def _dose(
    clause: Span,
    m: re.Match[str],
    before: str,
    after: str,
    nxt: Span | None,
    info: Drug,
) -> tuple[str | None, list[tuple[int, int]]]:
    """A drug's dose and where it was said: right after the name ("of" or a pause between),
    else right before it ("2 g TXA in 100 mL": the 100 mL is the diluent), else a little
    further after ("TXA slow IV 2 g"), else the next clause; a number said without a unit is
    a dose in the drug's usual unit when it is in the usual range."""
    after_at = clause.start + m.end()
    before_at = clause.start + m.start() - len(before)
    lead = re.match(r"\s*,?\s*(?:of\s+)?", after)
    found = _DOSE.match(after, lead.end() if lead else 0)
    at = after_at
    if found is None:
        found, at = _DOSE_BEFORE.search(before), before_at
        if found is not None and len(before) - found.end() > 12:
            found = None
    if found is None:
        found, at = _DOSE.search(after[:24]), after_at
    if found is None and nxt is not None:
        found, at = _DOSE.match(nxt.text, 0), nxt.start
    if found is not None:
        unit = _UNIT_NAMES.get(found.group(2).lower(), found.group(2))
        return f"{found.group(1)} {unit}", [(at + found.start(), at + found.end())]
    if info.unit is None or info.unitless is None:
        return None, []
    bare, at = _UNITLESS_AFTER.match(after), after_at
    if bare is None:
        bare, at = _UNITLESS_BEFORE.search(before), before_at
    if bare is None:
        return None, []
    value = float(bare.group(1))
    low, high = info.unitless
    if not low <= value <= high:
        return None, []
    return f"{bare.group(1)} {info.unit}", [(at + bare.start(1), at + bare.end(1))]


def _shared_route_and_time(sentence: Span, found: list[Found], lex: Lexicon) -> list[Found]:
    """ "Tylenol 1000 mg and Mobic 15 mg, both PO at 0720": a route or time said once for all
    the drugs of the sentence goes to each drug that has none of its own."""
    shared = _BOTH.search(sentence.text)
    if shared is None or len(found) < 2:
        return found
    tail = sentence.text[shared.end() :]
    routes = lex.routes.find(tail[:30])
    clock = times(Span(tail, sentence.start + shared.end()))
    out = []
    for f in found:
        data = dict(f.data)
        own = lex.drug_info[str(data["name"])].route_in_name
        if data["route"] is None and routes and not own:
            data["route"] = routes[0][0]
        if data["time"] is None and clock:
            data["time"] = clock[0].hhmm
        out.append(Found(f.kind, data, f.start, f.end, f.extras))
    return out


def fluids(sentence: Span, lex: Lexicon) -> list[Found]:
    """Fluids and blood products: name, volume (mL), units, rate, route, time."""
    out: list[Found] = []
    cls = clauses(sentence)
    for i, clause in enumerate(cls):
        matches = lex.fluids.find(clause.text)
        drugs = [d for _, d in lex.drugs.find(clause.text)]
        # "Fresh whole blood, 450 mL, IO at 2210": what follows in the next clauses, up to
        # one that names another fluid or a drug, is this fluid's.
        later = ""
        for nxt in cls[i + 1 : i + 3]:
            if lex.fluids.find(nxt.text) or lex.drugs.find(nxt.text):
                break
            later += " " + nxt.text
        for name, m, before, after in _segments(clause, matches):
            start, end = clause.start + m.start(), clause.start + m.end()
            if negated(clause, start, end, sentence) or _is_access_word(name, clause.text, m):
                continue
            if any(d.start() < m.end() and m.start() < d.end() for d in drugs):
                continue  # "hypertonic saline" is a drug, not saline
            if any(d.end() <= m.start() for d in drugs) and _DILUENT.search(
                clause.text[: m.start()]
            ):
                continue  # "2 g TXA in 100 mL normal saline": the carrier of the drug
            last = m is matches[-1][1]
            vol = (
                _VOLUME.search(before[-24:])
                or _VOLUME.match(after.lstrip(" ,"))
                or _BARE_VOLUME.search(before[-24:])
            )
            if vol is None and last:
                vol = _VOLUME.match(later.lstrip(" ,"))
            rate = _RATE.search(after) or _RATE.search(before)
            units = _UNITS.search(before[-24:])
            volume_ml: int | None = None
            if vol:
                qty = float(vol.group(1))
                volume_ml = int(qty * 1000) if vol.group(2).lower().startswith("l") else int(qty)
            clock = times(clause)
            route = _route(lex, before, after)
            if last and later:
                clock = clock or times(Span(later, clause.end))
                route = route or _route(lex, "", later)
            data: dict[str, Scalar] = {
                "name": name,
                "volume_ml": volume_ml,
                "units": int(units.group(1)) if units else None,
                "rate_ml_h": int(float(rate.group(1))) if rate else None,
                "route": route,
                "time": clock[-1].hhmm if clock else None,
            }
            out.append(Found("fluid", data, start, end))
    return out


_DILUENT = re.compile(r"\bin\s+(?:\d+(?:\.\d+)?\s*(?:ml|cc)\s+(?:of\s+)?)?$", re.I)


def _is_access_word(name: str, text: str, m: re.Match[str]) -> bool:
    # "saline lock" is IV access, not a fluid given.
    return name == "Normal Saline" and bool(re.match(r"\s*lock", text[m.end() :], re.I))


def access(sentence: Span, lex: Lexicon) -> list[Found]:
    """Vascular access: "18 ga IV left hand", "IO in the sternum" (the route drugs inherit)."""
    out: list[Found] = []
    for clause in clauses(sentence):
        fluids_given = [
            m
            for name, m in lex.fluids.find(clause.text)
            if not _is_access_word(name, clause.text, m)
        ]
        if lex.drugs.find(clause.text) or fluids_given:
            continue  # a route said with a drug or fluid is that drug's route
        for m in _ACCESS.finditer(clause.text):
            start, end = clause.start + m.start(), clause.start + m.end()
            if negated(clause, start, end, sentence):
                continue
            word = m.group(2).lower()
            route = "IO" if "io" in word or "fast" in word else "IV"
            if not (
                m.group(1)
                or _ACCESS_VERB.search(clause.text)
                or clause.text.strip().lower() == word
            ):
                continue
            # An IO or IV site is kept as said: "sternum" and "tibia" are the device's sites.
            site = site_at(clause, lex, end, card_terms=False)
            data: dict[str, Scalar] = {"route": route, "site": site[0] if site else None}
            if m.group(1):
                data["gauge"] = int(m.group(1))
            out.append(Found("access", data, start, end))
    return out


_TBSA = re.compile(r"\b(\d{1,2}|100)\s*%(?:\s*(?:tbsa|bsa|body\s+surface))?", re.I)


def burns(sentence: Span, lex: Lexicon) -> list[Found]:
    """Burn area (%TBSA) when the sentence is about burns."""
    if not re.search(r"\b(?:burns?|burned|tbsa|calling\s+it)\b", sentence.text, re.I):
        return []
    return [
        _found(sentence, "burn", {"tbsa": int(m.group(1))}, m.start(), m.end())
        for m in _TBSA.finditer(sentence.text)
        if not re.match(
            r"\s*(?:sats?|spo2)", sentence.text[max(0, m.start() - 6) : m.start()], re.I
        )
        and not re.search(r"\b(?:sats?|spo2)\W*$", sentence.text[: m.start()], re.I)
    ][:1]


def _found(span: Span, kind: str, data: dict[str, Scalar], start: int, end: int) -> Found:
    return Found(kind, data, span.start + start, span.start + end)
