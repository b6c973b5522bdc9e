"""Who can be a speaker: the check every speaker mention passes (``not_agent``).

A claim's speaker is someone or something that can state it: a person, an organisation, a
country or city standing for its government, a newspaper or broadcaster, or a document that
states figures or findings (a report, a poll, a statement). Read off the spaCy parse of the
mention's head word, never off a story's names:

* a named entity heading the mention (PERSON, ORG, NORP, GPE, FAC, ...) can speak; a
  quantity or a time (PERCENT, CARDINAL, MONEY, DATE, TIME, ...: "26%", "Two in three",
  "Wednesday") cannot, nor a region, an event or a law (LOC, EVENT, LAW, LANGUAGE);
* of pronouns only the personal ones ("he", "they", "we"), which attribution resolves;
  indefinite, negative, relative and demonstrative ones ("anyone", "some", "nobody", "who",
  "those") name no one, and neither does a subject that is "no ..." or "what ...";
* a common noun speaks when it is a person, a group of people, an organisation, a medium or a
  document (``AGENT_NOUNS``, and nouns of agents by their ending: "-ist", "-ian", "-man");
  "ceasefire", "information", "the plan", "a number" do not.

A mention that fails gives its claim no speaker (the mention stays, as written)."""

from __future__ import annotations

# people, one at a time or as a group (lemmas, as spaCy's lemmatiser gives them)
PERSON_NOUNS = frozenset("""
man woman person people folk guy boy girl child kid teen teenager adult youth lady gentleman
mother father parent son daughter brother sister wife husband cousin uncle aunt nephew niece
grandmother grandfather grandson granddaughter relative family friend neighbour neighbor partner
spouse fiance fiancee girlfriend boyfriend widow widower colleague roommate classmate
supporter backer ally opponent rival critic foe detractor proponent advocate defender enemy
admirer fan follower loyalist voter elector constituent respondent participant attendee viewer
reader listener audience caller commenter user customer client consumer passenger shopper buyer
seller tenant landlord employee employer staffer staff worker contractor volunteer donor
fundraiser lobbyist operative strategist consultant adviser advisor aide assistant deputy
associate insider confidant confidante watcher observer onlooker bystander eyewitness witness
resident citizen local villager native immigrant migrant refugee protester protestor
demonstrator marcher activist organizer organiser campaigner petitioner
candidate nominee contender hopeful frontrunner front-runner challenger incumbent politician
lawmaker legislator congressman congresswoman senator representative delegate superdelegate
governor mayor councillor councilor councilman councilwoman alderman president vice premier
chancellor minister secretary ambassador envoy emissary diplomat official officer bureaucrat
administrator regulator commissioner inspector auditor clerk negotiator mediator
judge justice magistrate prosecutor attorney lawyer counsel barrister solicitor defendant
plaintiff accused suspect detainee prisoner inmate victim survivor hostage captive complainant
cop detective sheriff trooper agent investigator soldier troop marine veteran commander general
admiral colonel captain lieutenant sergeant major guard militant fighter rebel insurgent gunman
attacker terrorist jihadist extremist militia militiaman
doctor physician surgeon nurse medic paramedic patient scientist researcher expert specialist
analyst economist historian scholar professor academic teacher student pupil lecturer dean
journalist reporter correspondent editor columnist commentator pundit anchor host presenter
moderator interviewer writer author blogger producer director filmmaker actor actress star
singer artist musician comedian celebrity narrator photographer broadcaster publisher
executive chief ceo cfo coo founder cofounder co-founder owner chairman chairwoman chairperson
chair manager boss head leader spokesman spokeswoman spokesperson spokesmen spokeswomen
businessman businesswoman entrepreneur investor banker trader broker developer engineer
technician farmer driver pilot miner shopkeeper merchant vendor
pastor priest bishop cleric imam rabbi pope cardinal monk nun preacher
player coach striker goalkeeper midfielder athlete referee manager captain
king queen prince princess monarch emperor sultan sheikh ruler dictator
republican democrat conservative liberal progressive moderate socialist libertarian independent
evangelical hawk dove elder elite moderate centrist populist nationalist
pollster youngster mobster gangster hacker checker fact-checker runner runner-up tycoon mogul
magnate billionaire millionaire heir heiress source contact insider informant whistleblower
member membership cast crew jury panelist panellist speaker caller sponsor proponent
surrogate pensioner retiree killer executioner faker impostor imposter reviewer
""".split())

# bodies that speak: organisations, parts of a state, places standing for their government
ORG_NOUNS = frozenset("""
administration government regime authority state city town county municipality province
region country nation republic kingdom council parliament congress senate house assembly
legislature chamber court tribunal committee subcommittee commission board panel office
ministry department agency bureau embassy consulate mission delegation secretariat cabinet
presidency palace police military army navy airforce force troop intelligence guard
party caucus camp side wing faction movement coalition alliance bloc union federation league
association society foundation institute institution organisation organization group body
charity ngo nonprofit watchdog observatory centre center lab laboratory university college
school academy hospital clinic prison church congregation diocese tribe clan household
company firm corporation conglomerate business startup bank lender insurer carrier airline
operator utility maker manufacturer producer retailer supplier provider chain store brand
label studio network station channel outlet publication press media medium newspaper paper
magazine tabloid journal daily weekly website site blog service industry sector
establishment leadership management base electorate public community opposition
campaign team club crew band trio duo pair couple circle entourage brass news coastguard
""".split())

# documents and records that state figures or findings
DOCUMENT_NOUNS = frozenset("""
poll polling survey report reporting study analysis research review audit inquiry
investigation probe census count tally estimate projection forecast model average tracker
index data datum figure statistic record document file filing letter memo memorandum email
e-mail message note post tweet article story column editorial op-ed piece headline caption
book memoir biography transcript recording tape video footage image photo photograph picture
map chart graphic ad advert advertisement commercial release statement announcement notice
bulletin communique readout briefing speech remark comment testimony affidavit complaint
lawsuit suit indictment ruling verdict judgment judgement opinion summary finding result
evidence account version page feed petition manifesto broadcast programme program show
documentary film interview questionnaire circular website release dossier cable readout
disclosure declaration submission dashboard database spreadsheet register registry ledger log
""".split())

AGENT_NOUNS = PERSON_NOUNS | ORG_NOUNS | DOCUMENT_NOUNS
# endings of nouns of agents ("economist", "politician", "spokesman", "chairwoman", "reviewer",
# "investor", "trustee"), and the common nouns with those endings that name no agent
_AGENT_ENDINGS = ("ist", "ian", "man", "men", "woman", "women", "person", "people", "er", "or", "ee")
_NOT_AGENT_ENDING = frozenset("""number order matter power water answer danger border chapter
corner cover error factor floor sector tower weather winter summer murder quarter character
disaster shelter poster register letter paper dinner lunch center centre manner layer laser
barrier banner member chamber filter counter cancer mirror horror terror meteor monitor
behavior behaviour favor favour honor honour humor humour labor labour rumor rumour vapor
color colour motor tractor trailer container computer transfer offer proffer lower upper
other mother another either neither whether together rather however november december
october september commitee degree guarantee fee coffee""".split())

# the NER's quantities and times: a speaker only when the head word is a name the NER
# mislabelled ("the Sunday Times"), never a number, a quantity word or a word of time
QUANTITY_ENTS = frozenset({"PERCENT", "CARDINAL", "MONEY", "QUANTITY", "ORDINAL"})
TIME_ENTS = frozenset({"DATE", "TIME"})
TIME_WORDS = frozenset("""monday tuesday wednesday thursday friday saturday sunday january february
march april may june july august september october november december today yesterday tomorrow
tonight morning afternoon evening night day week weekend month year decade century hour minute
moment time date season spring summer autumn fall winter""".split())
# entity types whose head word may stand for a speaker whatever its part of speech
AGENT_ENTS = frozenset({"PERSON", "ORG", "NORP", "GPE", "FAC", "WORK_OF_ART", "PRODUCT"})
# personal pronouns: attribution resolves them to a speaker named before
PERSONAL_PRONOUNS = frozenset({"he", "she", "they", "it", "we", "i", "you"})
# the words of a quantity standing for people ("58 percent of voters", "a majority")
QUANTITY_NOUNS = frozenset("""percent per cent % percentage majority minority plurality half
third quarter fourth fifth tenth number share proportion fraction handful dozen score hundred
thousand million billion lot bunch rest bulk slice portion""".split())
# "No official has confirmed ...", "what sources say": no one in particular speaks
NEGATIVE_DETERMINERS = frozenset({"no", "neither", "what", "which", "whatever", "whichever"})
# verbs whose subject is a speaker, whatever noun it is
# (not "confirm", "show", "suggest": data, money and events do that too)
SPEECH_LEMMAS = frozenset("""say tell announce declare add insist deny warn write tweet testify reply
respond answer ask admit acknowledge argue contend assert allege comment remark vow pledge promise
urge accuse reiterate concede complain boast retort quip speak talk""".split())
# indefinite words heading a mention on their own ("Many said", "All agreed", "Others wrote")
INDEFINITES = frozenset("""many several few most some all both each either neither none another
other others anyone anybody everyone everybody someone somebody nobody no-one one""".split())


def agent_noun(lemma: str) -> bool:
    """Whether a common noun (its lemma, lower case) can name a speaker."""
    lemma = lemma.lower()
    if lemma in AGENT_NOUNS:
        return True
    last = lemma.rsplit("-", 1)[-1]  # "co-founder", "ex-minister", "fact-checker"
    if last in AGENT_NOUNS:
        return True
    return (len(lemma) >= 6 and lemma.endswith(_AGENT_ENDINGS) and lemma not in _NOT_AGENT_ENDING
            and last not in _NOT_AGENT_ENDING)


def not_agent(tok) -> str:
    """Why the mention headed by spaCy token ``tok`` cannot be a speaker ("quantity",
    "date", "place", "thing", "pronoun", "no one", "common noun"), or "" when it can."""
    low, lemma = tok.lower_, tok.lemma_.lower()
    ent = tok.ent_type_
    if any(c.dep_ == "det" and c.lower_ in NEGATIVE_DETERMINERS for c in tok.children):
        return "no one"
    if ent in AGENT_ENTS or (tok.text.isupper() and len(tok.text) > 1) or tok.text.startswith("@"):
        return ""  # a name, an acronym ("WHO" is not "who"), a handle
    if low == "it" and (tok.dep_ == "expl" or tok.dep_ == "nsubjpass" and any(
            c.dep_ in ("ccomp", "csubj") for c in tok.head.children)):
        return "pronoun"  # "it is claimed that ...": no one in particular claims it
    if tok.pos_ == "PRON" or tok.pos_ == "DET" or low in INDEFINITES:
        if low in INDEFINITES and low not in ("none", "neither") and _of_agent(tok):
            return ""  # "one of the friends", "some of his supporters"
        return "" if low in PERSONAL_PRONOUNS else "pronoun"
    if (tok.pos_ == "NUM" or tok.like_num or lemma in QUANTITY_NOUNS or low in QUANTITY_NOUNS
            or ent in QUANTITY_ENTS and tok.pos_ != "PROPN"):
        return "" if low == "one" and _of_agent(tok) else "quantity"
    if ent in TIME_ENTS and (low in TIME_WORDS or lemma in TIME_WORDS):
        return "date"
    if tok.pos_ in _NOT_NOMINAL and tok.text[:1].islower():
        return "thing"  # a misparse made a verb or a particle the head ("On YouTube commented")
    if tok.pos_ != "NOUN":
        return ""
    if tok.text[:1].isupper() and (not tok.is_sent_start or low in named_words(tok.doc)):
        # a capitalised noun inside a sentence is part of a name ("the Observatory"), and so
        # is one opening a sentence that the text names elsewhere ("Trump knows ...")
        return ""
    if agent_noun(lemma) or agent_noun(low) or _speaks(tok):
        return ""
    if any(c.dep_ == "compound" and c.lemma_.lower() in PERSON_NOUNS for c in tok.children):
        return ""  # the parser took a participle for the head: "one user commenting said"
    return "common noun"


_NOT_NOMINAL = frozenset({"VERB", "AUX", "ADV", "ADP", "SCONJ", "CCONJ", "PART", "INTJ", "PUNCT"})


def _of_agent(tok) -> bool:
    """"one of the friends", "one of them": a member of a group that can speak."""
    return any(c.dep_ == "prep" and c.lower_ == "of" and any(
        g.dep_ == "pobj" and (g.lower_ in ("them", "us", "you") or not not_agent(g)) for g in c.children)
        for c in tok.children)


def _speaks(tok) -> bool:
    """The noun is the subject of a verb of speaking ("the coastguard said", "the inspectorate
    told reporters") or what "according to" names ("according to the latest plans"): the
    sentence itself makes it a speaker, whatever noun it is."""
    if tok.dep_ == "nsubj" and tok.head.lemma_.lower() in SPEECH_LEMMAS:
        return True
    head = tok.head
    return tok.dep_ == "pobj" and head.lower_ == "to" and head.head.lower_ == "according"


_NAMED_KEY = "contradict.named_words"


def named_words(doc) -> frozenset[str]:
    """The words (lower case) the document writes as names: a proper noun, a word of a
    person, organisation or place entity, or capitalised inside a sentence. Built once per Doc."""
    words = doc.user_data.get(_NAMED_KEY)
    if words is None:
        words = doc.user_data[_NAMED_KEY] = frozenset(
            t.lower_ for t in doc if t.pos_ == "PROPN" or t.ent_type_ in AGENT_ENTS
            or (t.text[:1].isupper() and not t.is_sent_start and t.is_alpha))
    return words
