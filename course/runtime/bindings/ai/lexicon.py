"""The small vocabularies the offline model reasons with: label cues, urgency, units, currencies.

Each table is short enough to read in a lesson: the offline model classifies "the database is
down, urgent!" as ``high`` because "down" and "urgent" are urgency cues below, not because it
understands the sentence. Add a word here and the model learns it.
"""
from __future__ import annotations


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Words that point at a label a classifier is commonly asked for. An enum option matches its
#: own words (``feature_request`` -> feature, request), and the cues of each of them.
LABEL_CUES: dict[str, frozenset[str]] = {
    "positive": _set("love loved great excellent happy amazing wonderful nice fantastic awesome thanks thank "
                     "pleased delighted perfect enjoy enjoyed impressed good helpful brilliant glad like"),
    "negative": _set("bad terrible hate awful sad worst poor angry disappointed disappointing broken slow crash "
                     "crashing crashes useless frustrated frustrating annoying complaint never unacceptable rude"),
    "billing": _set("charge charged charges billing bill billed invoice refund payment paid pay subscription card "
                    "receipt overcharged fee"),
    "sales": _set("quote pricing price buy purchase seats seat demo upgrade license licence enterprise trial "
                  "discount plan"),
    "technical": _set("error password login log reset crash crashes bug broken install setup configure api "
                      "timeout working fails failing"),
    "support": _set("help error password login reset crash broken problem issue fails failing"),
    "spam": _set("won win winner prize free click claim congratulations lottery offer unsubscribe cruise "
                 "million inheritance"),
    "work": _set("meeting report deadline project client colleague manager office quarterly review"),
    "personal": _set("mom dad mum birthday dinner family friend weekend party wedding holiday"),
    "calendar": _set("meeting schedule appointment calendar reschedule move event invite agenda"),
    "weather": _set("weather rain forecast sunny snow temperature wind cold hot umbrella"),
    "bug": _set("crash crashes crashing error broken bug fails failing exception wrong cannot can't"),
    "feature": _set("feature request nice add wish suggestion idea allow export support would"),
    "question": _set("how what why where when question wonder"),
    "email": _set("email mail send message inbox"),
    "search": _set("search find look docs documentation"),
    "shipping": _set("shipping delivery parcel package tracking shipped arrive arrived courier"),
    "account": _set("account password login profile username signup"),
}

#: Words of an enum option that every option of a router shares and that say nothing.
OPTION_NOISE = _set("agent team queue dept department handler bot the")

#: Options that mean "none of the others" (picked when no cue fires).
NEUTRAL_OPTIONS = _set("neutral general other none unknown misc mixed normal medium")

#: Cues that raise urgency/severity/priority, and cues that lower it.
URGENCY_HIGH = _set("down outage urgent urgently asap immediately critical emergency crash crashes crashing "
                    "cannot can't breach security blocked blocker production failing failed failure severe "
                    "broken losing lost")
URGENCY_LOW = _set("slightly minor cosmetic typo whenever small trivial eventually later someday nice")
URGENCY_LOW_PHRASES = ("no rush", "when you have time", "whenever you", "nice to have", "not urgent", "low priority")

#: Where an enum option sits on a low-to-high scale (severity, priority, urgency).
LEVELS: dict[str, int] = {
    "trivial": 0, "lowest": 0, "minor": 1, "low": 1, "p4": 0, "p3": 1, "sev3": 1,
    "medium": 2, "normal": 2, "moderate": 2, "p2": 2, "sev2": 2,
    "high": 3, "major": 3, "urgent": 3, "p1": 3, "sev1": 3, "important": 3,
    "critical": 4, "blocker": 4, "highest": 4, "p0": 4, "sev0": 4, "emergency": 4,
}

#: Everyday names of currencies, for enum options given as ISO codes.
CURRENCY_WORDS: dict[str, str] = {
    "dollar": "USD", "dollars": "USD", "usd": "USD", "$": "USD", "bucks": "USD",
    "euro": "EUR", "euros": "EUR", "eur": "EUR", "\u20ac": "EUR",
    "pound": "GBP", "pounds": "GBP", "sterling": "GBP", "gbp": "GBP", "\u00a3": "GBP",
    "yen": "JPY", "jpy": "JPY", "\u00a5": "JPY",
    "franc": "CHF", "francs": "CHF", "chf": "CHF",
}

#: Time units in minutes, to convert "in 2 hours" into a ``minutes`` argument.
TIME_UNITS_IN_MINUTES: dict[str, float] = {
    "ms": 1 / 60000, "millisecond": 1 / 60000, "milliseconds": 1 / 60000,
    "s": 1 / 60, "sec": 1 / 60, "secs": 1 / 60, "second": 1 / 60, "seconds": 1 / 60,
    "m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1,
    "h": 60, "hr": 60, "hrs": 60, "hour": 60, "hours": 60,
    "day": 1440, "days": 1440, "week": 10080, "weeks": 10080,
}

#: Prepositions that introduce the value of a property with this word in its name.
ROLE_PREPOSITIONS: dict[str, tuple[str, ...]] = {
    "origin": ("from",), "source": ("from",), "departure": ("from",), "from": ("from",),
    "destination": ("to",), "arrival": ("to",), "to": ("to",),
    "assignee": ("for", "to"), "owner": ("for",), "recipient": ("to",),
    "subject": ("about", "regarding", "re"), "topic": ("about", "on", "regarding"),
    "language": ("into", "to", "in"),
    "city": ("in", "at", "for"), "location": ("in", "at", "near"), "place": ("in", "at"),
}

#: Openings of a request that carry no content ("it would be nice to export" -> "export").
FILLER_OPENINGS = ("it would be nice to", "it would be great to", "i would like to", "i'd like to", "we'd like to",
                   "we would like to", "i want to", "we want to", "i need to", "we need to", "please", "can you",
                   "could you", "would you", "kindly")

#: Nouns that count people: a ``passengers`` property takes "for 3 people" as well as "3 passengers".
HEADCOUNT_NOUNS = ("passengers", "guests", "people", "persons", "travellers", "travelers", "adults", "seats",
                   "tickets", "attendees", "participants", "pax")
