"""Attribute: one canonical speaker per person or body in a document, and their side.

Mentions come from segment.py. Within a document:

* "Pakistani Defence Minister Khurram Dastgir", "Dastgir" and "the defence minister" are one
  speaker (full name, surname, definite role matching the role words of a named person);
* "Muhammad Faisal, the ministry's spokesperson" and "the foreign ministry spokesperson"
  are one speaker (the appositive gives Faisal the role);
* he / she resolve to the last person speaker, they / it to the last organisation or group
  (else the last speaker);
* a side comes from demonyms and places in the mention ("Pakistani ..." -> Pakistan,
  "the US embassy" -> US) or from an organisation the person speaks for ("Acme chief
  executive ..." -> Acme), and is shared by every mention of the speaker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from pipeline.stages.agents import DOCUMENT_NOUNS, PERSON_NOUNS
from pipeline.stages.normalize import Normalized
from pipeline.stages.attribution_rules import RawClaim
from pipeline.stages.mentions import Mention
from pipeline.types import Claim

# demonyms and short forms -> side name
DEMONYMS = {
    "us": "US", "u.s.": "US", "usa": "US", "american": "US", "americans": "US",
    "united states": "US", "the united states": "US", "washington": "US",
    "uk": "UK", "british": "UK", "britain": "UK", "united kingdom": "UK", "london": "UK",
    "pakistani": "Pakistan", "islamabad": "Pakistan", "indian": "India", "new delhi": "India",
    "chinese": "China", "beijing": "China", "russian": "Russia", "moscow": "Russia",
    "kremlin": "Russia", "french": "France", "paris": "France", "german": "Germany",
    "berlin": "Germany", "japanese": "Japan", "tokyo": "Japan", "iranian": "Iran",
    "tehran": "Iran", "israeli": "Israel", "palestinian": "Palestine", "afghan": "Afghanistan",
    "kabul": "Afghanistan", "turkish": "Turkey", "ankara": "Turkey", "ukrainian": "Ukraine",
    "kyiv": "Ukraine", "kiev": "Ukraine", "saudi": "Saudi Arabia", "egyptian": "Egypt",
    "cairo": "Egypt", "syrian": "Syria", "iraqi": "Iraq", "baghdad": "Iraq",
    "canadian": "Canada", "ottawa": "Canada", "mexican": "Mexico", "brazilian": "Brazil",
    "australian": "Australia", "canberra": "Australia", "italian": "Italy", "rome": "Italy",
    "spanish": "Spain", "madrid": "Spain", "dutch": "Netherlands", "polish": "Poland",
    "warsaw": "Poland", "korean": "Korea", "south korean": "South Korea", "seoul": "South Korea",
    "north korean": "North Korea", "pyongyang": "North Korea", "nigerian": "Nigeria",
    "kenyan": "Kenya", "nairobi": "Kenya", "south african": "South Africa",
    "ethiopian": "Ethiopia", "european": "EU", "eu": "EU", "brussels": "EU", "nato": "NATO",
    "taiwanese": "Taiwan", "taipei": "Taiwan", "venezuelan": "Venezuela", "cuban": "Cuba",
    "greek": "Greece", "athens": "Greece", "swedish": "Sweden", "norwegian": "Norway",
    "danish": "Denmark", "finnish": "Finland", "irish": "Ireland", "dublin": "Ireland",
    "scottish": "Scotland", "welsh": "Wales", "qatari": "Qatar", "doha": "Qatar",
    "emirati": "UAE", "lebanese": "Lebanon", "beirut": "Lebanon", "jordanian": "Jordan",
    "bangladeshi": "Bangladesh", "dhaka": "Bangladesh", "sri lankan": "Sri Lanka",
    "indonesian": "Indonesia", "jakarta": "Indonesia", "philippine": "Philippines",
    "filipino": "Philippines", "manila": "Philippines", "vietnamese": "Vietnam",
    "hanoi": "Vietnam", "thai": "Thailand", "bangkok": "Thailand", "malaysian": "Malaysia",
    "argentine": "Argentina", "argentinian": "Argentina", "chilean": "Chile",
    "colombian": "Colombia", "peruvian": "Peru", "swiss": "Switzerland", "austrian": "Austria",
    "belgian": "Belgium", "portuguese": "Portugal", "hungarian": "Hungary", "czech": "Czechia",
    "romanian": "Romania", "serbian": "Serbia", "belarusian": "Belarus", "georgian": "Georgia",
    "armenian": "Armenia", "azerbaijani": "Azerbaijan", "kazakh": "Kazakhstan",
    "moroccan": "Morocco", "algerian": "Algeria", "tunisian": "Tunisia", "libyan": "Libya",
    "sudanese": "Sudan", "somali": "Somalia", "ghanaian": "Ghana", "zimbabwean": "Zimbabwe",
    "new zealand": "New Zealand",
}
PERSON_HEADS = {
    "minister", "spokesperson", "spokesman", "spokeswoman", "official", "president", "chief",
    "executive", "director", "secretary", "ambassador", "leader", "chairman", "chairwoman",
    "chair", "head", "governor", "mayor", "senator", "lawyer", "attorney", "judge", "coach",
    "manager", "captain", "player", "analyst", "economist", "expert", "diplomat", "officer",
    "commander", "general", "prosecutor", "doctor", "scientist", "researcher", "founder",
    "ceo", "cfo", "adviser", "advisor", "aide", "candidate", "premier", "chancellor",
    "representative", "source", "member", "regulator", "inspector", "commissioner", "envoy",
    "negotiator", "striker", "owner", "chairperson", "deputy", "mp", "lawmaker", "professor",
    "surgeon", "nurse", "physician", "investigator", "auditor", "treasurer", "economist",
    "agent", "witness", "resident", "worker", "driver", "defender", "midfielder", "goalkeeper",
    "engineer", "teacher", "activist", "campaigner", "commentator", "columnist", "strategist",
    "observer", "pundit", "forecaster", "guard", "pilot", "farmer", "student", "parent",
    "victim", "survivor", "neighbour", "neighbor", "trader", "soldier", "patient", "barrister",
    "solicitor", "historian", "epidemiologist", "consultant", "pollster", "scholar",
}
GROUP_HEADS = {"officials", "sources", "diplomats", "analysts", "leaders", "residents",
               "workers", "lawyers", "doctors", "experts", "observers", "critics", "members",
               "investigators", "prosecutors", "protesters", "players", "fans", "people"}
ORG_HEADS = {
    "ministry", "department", "embassy", "government", "company", "commission", "office",
    "agency", "council", "court", "union", "party", "committee", "board", "authority",
    "bank", "firm", "club", "federation", "league", "association", "army", "military",
    "police", "administration", "kremlin", "white", "house", "campaign", "group", "team",
    "mission", "organisation", "organization", "institute", "hospital", "university",
    "regulator", "parliament", "senate", "cabinet", "secretariat", "service", "corporation",
    "inc", "ltd", "plc", "co", "motors", "airlines", "foundation", "tribunal", "panel",
}
GENERIC_ORGS = {"company", "firm", "club", "board", "bank", "carrier", "airline", "group",
                "insurer", "lender", "retailer", "manufacturer", "operator", "producer", "maker",
                "ministry", "government", "party", "coalition", "committee", "agency", "regulator",
                "commission", "council", "union", "federation", "league", "team", "campaign",
                "organisation", "organization", "hospital", "university", "court", "authority",
                "utility"}
# bodies that speak for themselves, not for their country
NON_STATE = {"union", "association", "company", "firm", "club", "federation", "league", "party",
             "campaign", "group", "airline", "airlines", "motors", "corporation", "inc", "ltd",
             "plc", "co", "foundation", "bank", "carrier", "insurer", "lender", "retailer",
             "manufacturer", "operator", "producer", "maker", "utility", "team", "coalition"}
CORPORATE = {"company", "firm", "club", "bank", "carrier", "airline", "group", "insurer",
             "lender", "retailer", "manufacturer", "operator", "producer", "maker", "team",
             "utility"}
STOP = {"the", "a", "an", "its", "his", "her", "their", "'s", "’s", "of", "and", "for", "on",
        "in", "at", "to", "this", "that", "said", "both", "two"}
SIDE_WORDS = set(DEMONYMS)
# speakers whose statements are opinions or forecasts about the event, not parties to it
ANALYST_HEADS = {"analyst", "analysts", "economist", "economists", "commentator", "commentators",
                 "expert", "experts", "observer", "observers", "strategist", "strategists",
                 "columnist", "pundit", "pundits", "forecaster", "forecasters"}
# unqualified officials: their side may come from the dateline ("ISLAMABAD - Officials said")
OFFICIAL_HEADS = {"official", "officials", "spokesman", "spokeswoman", "spokesperson", "minister",
                  "ministry", "government", "authorities", "source", "sources", "diplomat",
                  "diplomats", "embassy", "office", "department", "police", "army", "military"}


# who says it when no one in particular does ("you can call it whatever you want", "people
# say"): never a speaker
GENERIC_MENTIONS = frozenset({"you", "anyone", "anybody", "someone", "somebody", "everyone",
                              "everybody", "people", "no one", "nobody", "one", "many people",
                              "some people", "most people",
                              # a demonstrative or relative pronoun the parser took for a subject
                              "this", "that", "these", "those", "which", "what"})


@dataclass
class Speaker:
    id: str
    name: str
    kind: str  # person | org | group
    named: bool = False
    surname: str = ""
    role_head: str = ""
    role_words: set[str] = field(default_factory=set)
    side: str = ""
    key: str = ""
    described: bool = False  # only ever a description ("the state auditor", "a coalition")


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" ,.;:\"“”'")


def _side_of(m: Mention) -> str:
    low = m.text.lower()
    for ent_text, label in m.ents:
        if label in ("GPE", "NORP"):
            hit = DEMONYMS.get(ent_text.lower().removeprefix("the ").strip())
            if hit:
                return hit
            if label == "GPE":
                return ent_text.removeprefix("the ").strip()
    phrase = _longest_demonym(low)
    return DEMONYMS[phrase] if phrase else ""


_DEMONYM_ORDER = sorted(DEMONYMS, key=len, reverse=True)
_DEMONYM_RANK = {p: i for i, p in enumerate(_DEMONYM_ORDER)}
# at every position, the longest phrase that starts there (zero-width, so matches overlap)
_DEMONYM_RE = re.compile(
    r"(?=(?<![\w.])(" + "|".join(re.escape(p) for p in _DEMONYM_ORDER) + r")(?![\w]))")


def _longest_demonym(low: str) -> str:
    """The first phrase of ``_DEMONYM_ORDER`` (longest first) that occurs in ``low`` as a
    word: one regex pass instead of one search per phrase."""
    best = None
    for m in _DEMONYM_RE.finditer(low):
        rank = _DEMONYM_RANK[m.group(1)]
        if best is None or rank < best:
            best = rank
    return _DEMONYM_ORDER[best] if best is not None else ""


def _person_name(m: Mention) -> str:
    """The person's name in a mention (``_name_in``), unless the mention is headed by a common
    noun (or a pronoun) and the name only qualifies it: "Mr. Sanders's supporters", "A top
    Donald Trump adviser", "one of Emwazi's friends" are other people than the one named. A name in
    apposition to the head is its name ("Trump's attorney, Alan Garten")."""
    name = _name_in(m)
    if (name and m.head_pos not in ("", "PROPN") and m.head_lemma not in DOCUMENT_NOUNS and m.head_ent != "PERSON"
            and m.head_text not in name.lower().split() and not set(name.split()) & m.appos):
        return ""  # a document's author still speaks ("a 2013 study by economists A and B")
    return name


def _name_in(m: Mention) -> str:
    """The last multi-word PERSON entity of a mention, else a run of two or more proper nouns
    that are not role or organisation words, else a lone PERSON."""
    head = m.head_text.lower()
    persons = [_clean(t) for t, label in m.ents if label == "PERSON"]
    multi = [p for p in persons if len(p.split()) >= 2 and not _is_role(p)]
    if multi:  # the one the mention is headed by ("Rachel Obi, chief executive of Hallam Water")
        return next((p for p in multi if head in p.lower().split()), multi[-1])
    runs: list[list[str]] = []
    run: list[str] = []
    appos: set[int] = set()  # runs holding the apposition ("campaign manager, Leo Park")
    for text, lemma, pos, dep in m.tokens + [("", "", "", "")]:
        if pos == "PROPN" and not _is_role(text) and text[:1].isupper():
            run.append(text)
            if dep == "appos":
                appos.add(len(runs))
        else:
            if len(run) >= 2:
                runs.append(run)
            else:
                appos.discard(len(runs))
            run = []
    best = next((r for r in runs if head in (w.lower() for w in r)), runs[-1] if runs else [])
    orgs = {w.lower() for t, label in m.ents if label in ("ORG", "GPE", "NORP") for w in t.split()}
    # a title before the name ("Board chair Ulla Stam") outweighs an ORG label from the NER
    titled = bool(best) and (head in (w.lower() for w in best) or runs.index(best) in appos) \
        and any(lemma.lower() in PERSON_HEADS for text, lemma, pos, dep in m.tokens)
    if best and (titled or not any(w.lower() in orgs for w in best)):
        return " ".join(best)
    singles = [p for p in persons if not _is_role(p)]
    if singles:
        return singles[-1]
    # "Ndu, 27, the reigning champion, said": a lone capitalised name heading a mention with
    # an age or a person's role is a person, whatever the NER made of it
    head_tok = next((t for t in m.tokens if t[0].lower() == head and t[2] == "PROPN"), None)
    if head_tok and head_tok[0][:1].isupper() and not _is_role(head_tok[0]) \
            and head not in orgs and any(
                re.fullmatch(r"\d{1,2}", text) or lemma.lower() in PERSON_HEADS
                for text, lemma, pos, dep in m.tokens):
        return head_tok[0]
    return ""


def _is_role(text: str) -> bool:
    words = {w.lower() for w in re.findall(r"[\w']+", text)}
    return bool(words) and words <= _ROLE_VOCAB


ROLE_ADJ = {"defence", "defense", "foreign", "interior", "finance", "health", "state", "home",
            "trade", "justice", "education", "energy", "commerce", "treasury", "information"}
_ROLE_VOCAB = frozenset(PERSON_HEADS | ORG_HEADS | ROLE_ADJ | {"minister", "ministry", "bid"} | set(DEMONYMS))


def _names_after(m: Mention, k: int) -> bool:
    """True when a proper noun follows token ``k`` in the mention's own phrase (up to a comma),
    other than the person's name: "the Harbour Workers' Union", "Dorn's Unity party" (a
    possessive inside a name), not "Karvelo's deputy foreign minister, Tomas Ruud"."""
    own = set(_person_name(m).split())
    for text, _, pos, _ in m.tokens[k + 1:]:
        if text in ("'s", "'", "\u2019", "\u2019s"):
            continue
        if pos == "PUNCT":
            return False
        if pos == "PROPN" and text not in own:
            return True
    return False


def _qualifies_people(m: Mention) -> bool:
    """An organisation that only qualifies the people heading the mention ("Twitter users",
    "a Vogue insider"): they speak, not the organisation."""
    return m.head_pos == "NOUN" and m.head_lemma in PERSON_NOUNS and m.head_lemma not in ORG_HEADS


def _place_heads(m: Mention, side: str) -> bool:
    """The mention is the place or people ``side`` comes from ("Pakistan said", "the Kremlin
    said"), so it speaks for its country; not a place that only qualifies another head ("One
    man in Manchester", "the Arizona Republican", "U.S. media reports"). Mentions built
    without a parse (antecedents) keep the old reading."""
    if not m.head_pos or m.head_text in DEMONYMS:
        return True
    return any(label in ("GPE", "NORP") and m.head_text in text.lower().split()
               and _side_of(Mention(text=text, start=0, end=0, ents=[(text, label)])) == side
               for text, label in m.ents)


def _org_name(m: Mention) -> str:
    for text, label in m.ents:
        words = {w.lower() for w in re.findall(r"\w+", text)} - {"the"}
        if label == "ORG" and not words <= (ROLE_ADJ | PERSON_HEADS | {"minister", "ministry"}):
            return _clean(re.sub(r"^(the|a|an)\s+", "", text, flags=re.I))
    return ""


def _role_words(m: Mention, exclude: str) -> set[str]:
    excl = {w.lower() for w in exclude.split()}
    words = set()
    for text, lemma, pos, dep in m.tokens:
        low = text.lower()
        if low in STOP or low in excl or pos in ("PUNCT", "DET", "ADP", "PART", "CCONJ", "NUM"):
            continue
        if low in SIDE_WORDS:
            continue
        words.add(lemma.lower())
    return words


class Attributor:
    """Resolves the mentions of one document to canonical speakers."""

    def __init__(self) -> None:
        self.speakers: list[Speaker] = []
        self.last_person: Speaker | None = None
        self.last_group: Speaker | None = None
        self.last_any: Speaker | None = None
        self._index = _SpeakerIndex()

    def _new(self, **kw) -> Speaker:
        sp = Speaker(id=f"s{len(self.speakers) + 1}", **kw)
        self.speakers.append(sp)
        self._index.add(sp, len(self.speakers) - 1)
        return sp

    def resolve(self, m: Mention | None) -> Speaker | None:
        """The speaker a mention stands for (created when new), or None: no mention, an
        unresolved pronoun, a generic one that names no one ("you", "anyone", "people"), or
        one whose head cannot speak (``Mention.nonagent``: "26%", "Wednesday", "the plan")."""
        if m is None or m.nonagent or _clean(m.text).lower() in GENERIC_MENTIONS:
            return None  # a quantity, a date, "anyone", "the plan": no one speaks (agents.py)
        pron = m.pronoun
        if pron:
            if pron in ("he", "she"):
                return self._seen(self.last_person)
            if pron in ("they", "it"):
                return self._seen(self.last_group or self.last_any)
            return self._seen(self.last_any)
        sp = self._match_or_create(m)
        return self._seen(sp)

    def _seen(self, sp: Speaker | None) -> Speaker | None:
        if sp is None:
            return None
        self.last_any = sp
        if sp.kind == "person":
            self.last_person = sp
        else:
            self.last_group = sp
        return sp

    def _possessor_side(self, m: Mention) -> str:
        """"the ministry's spokesman": the side of the organisation the possessor names;
        "its spokesman", "its foreign ministry": the side of the country or organisation last
        named before the mention."""
        if m.owner is not None:
            text, label = m.owner
            if label == "GPE":
                return _side_of(Mention(text=text, start=0, end=0, ents=[(text, "GPE")]))
            key = _org_key(text)
            for sp in self._index.latest_first(self._index.key.get(key, ())):
                if sp.kind == "org" and sp.side:
                    return sp.side
            return _side_of(Mention(text=text, start=0, end=0)) or text  # an organisation is its own side
        for k, (text, lemma, pos, dep) in enumerate(m.tokens):
            if (dep == "poss" and pos == "PROPN" and lemma.lower() not in GENERIC_ORGS | ORG_HEADS
                    and (_person_name(m) or m.head_lemma in PERSON_HEADS | ORG_HEADS | GENERIC_ORGS)
                    and not _names_after(m, k)):
                # "Karvelo's deputy foreign minister", "Skyline Air's chief executive": the
                # body or country the possessor names (not a possessive inside a name: "the
                # Harbour Workers' Union", "the Public Prosecutor's Office")
                j = k
                while j > 0 and m.tokens[j - 1][2] == "PROPN" and m.tokens[j - 1][3] == "compound":
                    j -= 1
                owner = " ".join(t[0] for t in m.tokens[j:k + 1])
                for sp in self._index.latest_first(self._index.key.get(_org_key(owner), ())):
                    if sp.kind == "org" and sp.side:
                        return sp.side
                return _side_of(Mention(text=owner, start=0, end=0, ents=[(owner, "GPE")])) or owner
            if dep == "poss" and lemma.lower() in GENERIC_ORGS | ORG_HEADS:
                for sp in reversed(self.speakers):
                    if sp.kind == "org" and sp.side and lemma.lower() in sp.name.lower().split() + [sp.role_head]:
                        return sp.side
                ante = self._antecedent(lemma.lower(), m.antecedents)
                if ante:
                    return _side_of(Mention(text=ante, start=0, end=0)) or ante
        return ""

    def _match_or_create(self, m: Mention) -> Speaker:
        side = _side_of(m) or self._possessor_side(m)
        if (side and m.head_lemma in NON_STATE and not _person_name(m)
                and not any(t[3] == "poss" for t in m.tokens)):
            # "the British Union of Aviation Pilots", "US carrier Delta": a nationality, not a
            # side; the body speaks for itself (a union and a company of one country oppose).
            # A possessor still names one ("Hallam's water utility", "Pakistan's ruling party")
            side = ""
        name = _person_name(m)
        if not name and side and (named := _name_in(m)):
            # "Aalto's campaign", "a spokeswoman for Ortiz": not the person named, who still
            # shares the side the mention gives
            for sp in self._index.latest_first(self._index.surname.get(named.split()[-1].lower(), ())):
                if sp.kind == "person" and not sp.side:
                    sp.side = side
                    break
        tokens = [t for t in m.tokens if t[2] != "PUNCT"]
        propn = [t[0] for t in tokens if t[2] == "PROPN"]
        head = m.head_lemma
        # a surname alone ("Dastgir"), whatever the NER made of it
        if len(tokens) <= 2 and propn and not name:
            last = propn[-1].lower()
            for sp in self._index.latest_first(self._index.surname.get(last, ())):
                if sp.kind == "person" and sp.surname.lower() == last:
                    return self._update(sp, side, m)
        if name:
            surname = name.split()[-1]
            # a matching speaker's name ends in this surname (names only grow by a match on it)
            for sp in self._index.latest_first(self._index.surname.get(surname.lower(), ())):
                if sp.kind == "person" and sp.named and (
                    sp.name.lower() == name.lower() or sp.surname.lower() == surname.lower()
                    and (len(name.split()) == 1 or len(sp.name.split()) == 1
                         or sp.name.split()[0].lower() == name.split()[0].lower())
                ):
                    if len(name) > len(sp.name):
                        sp.name = name
                    return self._update(sp, side, m)
            role = _role_words(m, name)
            role_head = next((w for w in reversed([t[1].lower() for t in m.tokens])
                              if w in PERSON_HEADS), "")
            sp = self._new(name=name, kind="person", named=True, surname=surname,
                           role_head=role_head, role_words=role, side=side or _org_side(m, name))
            # an unnamed role mention seen earlier ("the defence minister") that this names
            return sp
        # an unnamed description
        role = _role_words(m, "")
        plural = m.head_text in GROUP_HEADS or (m.head_text != head and m.head_text.endswith("s"))
        if head in PERSON_HEADS or m.head_text in GROUP_HEADS or _qualifies_people(m):
            kind = "group" if plural else "person"
            if m.definite and kind == "person":
                best = None
                for sp in self._index.latest_first(self._index.role_head.get(head, ())):
                    if sp.kind != "person" or sp.role_head != head:
                        continue
                    mods = role - {head}
                    if not mods or mods & sp.role_words or not (sp.role_words - {head}):
                        best = sp
                        break
                if best is not None:
                    return self._update(best, side, m)
            key = " ".join(sorted(role | ({side.lower()} if side else set())))
            for sp in self._index.earliest_first(self._index.key.get(key, ())):
                if sp.key == key and sp.kind == kind and not sp.named:
                    return self._update(sp, side, m)
            display = _clean(m.text)
            # people heading a mention by a word of no list ("staff", "Mediators") are their
            # own side, as organisations are
            own = "" if head in PERSON_HEADS or m.head_text in GROUP_HEADS else \
                _clean(re.sub(r"^(the|a|an)\s+", "", m.text, flags=re.I))
            return self._new(name=display, kind=kind, role_head=head, role_words=role,
                             side=side or _org_side(m, "") or own, key=key,
                             described=m.definite and kind == "person")
        # "her office", "his campaign": the body of the person the pronoun refers to;
        # "its foreign ministry", "their union": of the country or organisation it stands for
        pron = tokens[0][0].lower() if tokens else ""
        owner_name = owner_side = None
        if pron in ("his", "her") and self.last_person is not None and len(tokens) <= 3:
            owner_name, owner_side = self.last_person.name, self.last_person.side
        elif pron in ("its", "their") and m.owner is not None and len(tokens) <= 4:
            owner_name, owner_side = m.owner[0], ""
        if owner_name is not None and (head in ORG_HEADS or head in GENERIC_ORGS):
            name = f"{owner_name}'s {' '.join(t[0] for t in tokens[1:])}"
            key = _org_key(name)
            for sp in self._index.key.get(key, ()):
                if sp.kind == "org" and sp.key == key:
                    return self._update(sp, side, m)
            return self._new(name=name, kind="org", role_head=head, role_words=_role_words(m, ""),
                             side=side or owner_side, key=key)
        # "the company", "the board": the organisation last named before the mention
        bare = [t for t in tokens if t[1].lower() not in STOP | {"itself", "own"}]
        if m.definite and len(bare) == 1 and head in GENERIC_ORGS:
            ante = self._antecedent(head, m.antecedents)
            if ante:
                m = Mention(text=ante, start=m.start, end=m.end, ents=[(ante, "ORG")])
                side = side or _side_of(m)
        # organisations and countries
        named = "" if _qualifies_people(m) else _org_name(m)
        org = named or _clean(re.sub(r"^(the|a|an)\s+", "", m.text, flags=re.I))
        if side and not (head in ORG_HEADS or named) and m.owner is None and _place_heads(m, side):
            org = side  # "Pakistan said", "Washington said"
        key = _org_key(org)
        # a match has the same key, or shares a word with it (_contains needs all of them)
        cands = {sp.id: sp for sp in self._index.key.get(key, ())}
        for w in set(key.split()):
            cands.update((sp.id, sp) for sp in self._index.key_word.get(w, ()))
        for sp in self._index.earliest_first(cands.values()):
            if sp.kind == "org" and (sp.key == key or (key and sp.key and (
                    _contains(sp.key, key) or _contains(key, sp.key)))):
                if len(org) > len(sp.name):
                    sp.name = org
                    self._index.renamed(sp)
                return self._update(sp, side, m)
        return self._new(name=org, kind="org", role_head=head, role_words=role,
                         side=side or (org if head not in ORG_HEADS or _org_name(m) else ""),
                         key=key, described=head in GENERIC_ORGS and not _org_name(m)
                         and not any(t[2] == "PROPN" for t in tokens))

    def _antecedent(self, head: str, named_before: tuple[str, ...]) -> str:
        """The organisation "the <head>" refers to: a speaker or a named organisation whose
        name holds the head word ("the bank" -> "Hanse Savings Bank"), else the latest named
        organisation that is not plainly of another kind ("the company" is not a union)."""
        for sp in self._index.latest_first(self._index.name_word.get(head, ())):
            if sp.kind == "org" and head in sp.name.lower().split():
                return sp.name
        for name in named_before:
            if head in name.lower().split():
                return name
        if head in CORPORATE:  # companies and clubs are rarely named "X Company"
            for name in named_before:
                words = set(name.lower().split())
                if not words & (ORG_HEADS - {"inc", "ltd", "plc", "co", "motors", "airlines", "group"}):
                    return name
        return ""

    def _update(self, sp: Speaker, side: str, m: Mention) -> Speaker:
        if side and not sp.side:
            sp.side = side
        sp.role_words |= _role_words(m, sp.name)
        return sp


class _SpeakerIndex:
    """Speakers by surname, role head, key, key word and name word, so that resolving a
    mention looks at the few speakers that can match instead of scanning all of them (the
    scans made attribution quadratic in a long document's length; issue 11). Lookups return
    candidates in creation order (``earliest_first``/``latest_first``), so the first match is
    the one the full scan found; the caller still checks every condition."""

    def __init__(self) -> None:
        self.order: dict[str, int] = {}
        self.surname: dict[str, list[Speaker]] = {}
        self.role_head: dict[str, list[Speaker]] = {}
        self.key: dict[str, list[Speaker]] = {}
        self.key_word: dict[str, list[Speaker]] = {}
        self.name_word: dict[str, list[Speaker]] = {}
        self._named: set[tuple[str, str]] = set()  # (word, speaker id) in name_word

    def add(self, sp: Speaker, position: int) -> None:
        self.order[sp.id] = position
        if sp.surname:
            self.surname.setdefault(sp.surname.lower(), []).append(sp)
        self.role_head.setdefault(sp.role_head, []).append(sp)
        self.key.setdefault(sp.key, []).append(sp)
        for w in set(sp.key.split()):
            self.key_word.setdefault(w, []).append(sp)
        self.renamed(sp)

    def renamed(self, sp: Speaker) -> None:
        """Index the words of ``sp.name`` (after a change; old words stay, callers check)."""
        for w in set(sp.name.lower().split()):
            if (w, sp.id) not in self._named:
                self._named.add((w, sp.id))
                self.name_word.setdefault(w, []).append(sp)

    def earliest_first(self, speakers) -> list[Speaker]:
        return sorted(speakers, key=lambda sp: self.order[sp.id])

    def latest_first(self, speakers) -> list[Speaker]:
        return sorted(speakers, key=lambda sp: self.order[sp.id], reverse=True)


def _descriptions_named(speakers: list[Speaker]) -> dict[str, Speaker]:
    """Speakers known only by a description that the document names elsewhere, before or
    after: "the state auditor" -> "State auditor Miriam Katz", "a civil society coalition"
    -> "The coalition, Citizens for a Clean Vote". A description maps to a named speaker of
    the same kind whose mention had the same head word (for a person, also every modifier
    of the description), and only when exactly one such speaker exists."""
    out: dict[str, Speaker] = {}
    for d in speakers:
        if not d.described or not d.role_head:
            continue
        mods = d.role_words - {d.role_head} - ANALYST_HEADS
        cands = [sp for sp in speakers if sp is not d and not sp.described and sp.kind == d.kind
                 and (sp.named or sp.kind == "org")
                 and (sp.role_head == d.role_head
                      or d.kind == "person" and d.role_head in sp.role_words)
                 and (d.kind == "org" or mods <= sp.role_words | {w.lower() for w in sp.name.split()})]
        if len(cands) == 1:
            out[d.id] = cands[0]
    return out


def _contains(a: str, b: str) -> bool:
    aw, bw = a.split(), b.split()
    return len(bw) >= 2 and all(w in aw for w in bw) if bw else False


def _org_key(org: str) -> str:
    words = [w for w in re.findall(r"[\w.]+", org.lower()) if w not in STOP]
    words = [DEMONYMS.get(w, w).lower() for w in words]
    return " ".join(words)


def _org_side(m: Mention, exclude: str) -> str:
    """A person's side from an organisation in their mention ("Acme chief executive X")."""
    org = _org_name(m)
    if org and org.lower() not in exclude.lower():
        return org
    return ""


def dateline_side(text: str) -> str:
    """The country of the article's dateline ("ISLAMABAD (Wire) - " -> Pakistan), or ""."""
    from pipeline.stages.datelines import DATELINE, headline_end

    start = headline_end(text)
    body = text[start:].lstrip()
    m = DATELINE.match(body)
    if not m:
        return ""
    place = re.split(r"[,(\-–—:]", m.group(0))[0].strip().lower()
    return DEMONYMS.get(place, "")


def attribute(doc_id: str, norm: Normalized, raw_claims: list[RawClaim]) -> list[Claim]:
    """Resolve speakers for the raw claims of one document and build Claims with raw offsets.

    A speaker's side comes from the mention (demonyms, places, a named organisation, an
    organisation's possessive: "the ministry's spokesman"); an unqualified official with no
    side of their own ("officials said") takes the dateline's country. Analysts', economists'
    and commentators' claims get ``role="analyst"``."""
    att = Attributor()
    out: list[Claim] = []
    counters: dict[int, int] = {}
    for rc in raw_claims:
        for m in rc.prior_mentions:
            att.resolve(m)
        sp = att.resolve(rc.mention)
        n = counters.get(rc.sent_index, 0)
        counters[rc.sent_index] = n + 1
        s, e = norm.raw_span(rc.start, rc.end)
        # "P, a claim Y denied": the claim on P just made, in this sentence
        target = next((c.id for c in reversed(out) if c.sent_index == rc.sent_index
                       and (c.start, c.end) == (s, e) and c.stance != "denies"), "") if rc.tied else ""
        clause = norm.raw_span(*rc.clause) if rc.clause is not None else None
        out.append(Claim(target=target, clause=clause,
            doc_id=doc_id, id=f"{rc.sent_index}.{n}", start=s, end=e, text=rc.text,
            sent_index=rc.sent_index, cue=rc.cue, stance=rc.stance, modality=rc.modality,
            mention=rc.mention.text if rc.mention else "", is_quote=rc.is_quote,
            speaker_id=sp.id if sp else "", speaker=sp.name if sp else "", info=rc.info,
        ))
    # sides and names settle only after the whole document: fill them in now
    named_later = _descriptions_named(att.speakers)
    by_id = {sp.id: sp for sp in att.speakers}
    home = dateline_side(norm.text)
    for sp in att.speakers:
        if home and not sp.side and not sp.named and sp.role_head in OFFICIAL_HEADS and sp.kind in ("person", "group", "org"):
            sp.side = home
    # Claims are frozen: each attributed claim is copied with its speaker's settled fields
    return [_settled(c, by_id, named_later) for c in out]


def _settled(c: Claim, by_id: dict[str, Speaker], named_later: dict[str, Speaker]) -> Claim:
    """``c`` with the id, name, side and role of its speaker as they stand at the end of the
    document (a description named later takes the name's id)."""
    sid = named_later[c.speaker_id].id if c.speaker_id in named_later else c.speaker_id
    if not sid:
        return c
    sp = by_id[sid]
    analyst = sp.role_head in ANALYST_HEADS or bool(sp.role_words & ANALYST_HEADS)
    return replace(c, speaker_id=sid, speaker=sp.name, side=sp.side, role="analyst" if analyst else c.role)
