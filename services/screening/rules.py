"""Cue rules for safety screening, in English and Welsh (with the soft, nasal and aspirate
mutations residents actually type: cyllell/gyllell/chyllell, tabledi/dabledi/nhabledi).

The cues do two jobs: they are features for the classifier (`CueHits.vector`), and a few
combinations are decisive on their own (`CueHits.forces_emergency`): a weapon or a break-in
happening now, violence now, fire, someone not breathing, an overdose, suicide now or a suicide
act (a rope, goodbyes), a child missing now. None is decisive when the message is hypothetical,
statistical or already resolved ("what would happen if someone broke in?"), and a crime or fire
told as past ("last night") is not decisive either.
"""
from __future__ import annotations

import re
from dataclasses import dataclass


def _cue(*patterns: str) -> re.Pattern:
    return re.compile(r"(?:%s)" % "|".join(patterns), re.I)


EMERGENCY_CUES: dict[str, re.Pattern] = {
    "weapon": _cue(r"\bknife\b", r"\bknives\b", r"\bblade\b", r"\bmachete\b", r"\bgun\b", r"\bshotgun\b",
                   r"\bweapon\b", r"\bbat\b", r"\bhammer\b", r"\bstabb?(?:ed|ing)?\b", r"\bshot\b",
                   r"\b[cg]yllell\b", r"\bchyllell\b", r"\bngyllell\b", r"\bgwn\b", r"\barf\b",
                   r"\btrywanu\b", r"\bdrywanu\b", r"\bnhrywanu\b", r"\bsaethu\b"),
    "right_now": _cue(r"\bright now\b", r"\bnow\b", r"\bany minute\b", r"\btonight\b", r"\bheno\b", r"\bas we speak\b", r"\bat the moment\b", r"\bcurrently\b",
                      r"\bstill here\b", r"\bhiding\b", r"\bcuddio\b", r"\bstill (?:outside|in the house|inside)\b", r"\bhappening\b",
                      r"\bat my (?:door|window)\b", r"\boutside my (?:house|flat|door|window)\b",
                      r"\bjust (?:now|been|happened)\b", r"\bhelp+\b", r"\bplease+ (?:come|send)\b",
                      r"\bnawr\b", r"\br[ŵw]an\b", r"\bar hyn o bryd\b", r"\btu allan\b", r"\bhelpwch\b",
                      r"\bdal yma\b", r"\bdal yn y t[ŷy]\b", r"\bnewydd (?:gael|ei|ddigwydd)\b", r"\bbrysiwch\b"),
    "break_in": _cue(r"\bbreak(?:ing)? in(?:to)?\b", r"\btrying to get in\b", r"\bkicking (?:the|my) door\b",
                     r"\bsmash(?:ing|ed)? (?:the|my|a) (?:window|door)\b", r"\bsomeone(?:'s| is) in (?:my|the) "
                     r"(?:house|flat|garden|shed)\b", r"\bintruder\b", r"\bbeing broken into\b", r"\bforc(?:e|ing) (?:the|my) door\b",
                     r"\bdownstairs\b", r"\b[dt]orri (?:mewn|i mewn)\b", r"\bnhorri mewn\b",
                     r"\bcicio'?r drws\b", r"\brhywun yn y t[ŷy]\b"),
    "violence": _cue(r"\bhit(?:ting)? me\b", r"\bhe hit\b", r"\bbeat(?:ing)? (?:me|her|him|up)\b", r"\battack(?:ing|ed)?\b",
                     r"\bpunch(?:ing|ed)?\b", r"\bstrangl\w*\b", r"\bchok(?:e|ing)\w*\b", r"\bkick(?:ing|ed) (?:me|her|him)\b",
                     r"\bfight(?:ing)?\b", r"\bhurt(?:ing)? (?:me|her|him|us)\b", r"\blocked me in\b", r"\bpulled a knife\b", r"\bgoing to kill\b",
                     r"\bthreaten\w* (?:to kill|me|us)\b", r"\bkill (?:me|us|her|him)\b",
                     r"\bymosod\w*\b", r"\b[cg]uro\b", r"\bnghuro\b", r"\btaro\b", r"\bdaro\b",
                     r"\bladd (?:fi|ni|hi|fo|e)\b", r"\b[bp]rifo\b", r"\bymladd\b", r"\bbygwth\b"),
    "fire": _cue(r"\bon fire\b", r"\bset fire\b", r"\bfire (?:in|at|upstairs|downstairs)\b", r"\bflames?\b",
                 r"\bsmoke (?:pouring|coming|everywhere)\b", r"\bburning\b", r"\bsmell (?:of )?(?:gas|smoke)\b",
                 r"\bar d[âa]n\b", r"(?<!gwasanaeth )\btân\b(?! gwyllt)", r"\bfflamau\b", r"(?<!larymau )(?<!larwm )\bmwg\b", r"\bllosgi\b"),
    "medical": _cue(r"\bnot breathing\b", r"\bcan'?t breathe\b", r"\bcollapsed\b", r"\bunconscious\b",
                    r"\bbleeding (?:badly|heavily|a lot|everywhere)\b", r"\bblood everywhere\b", r"\bnot moving\b", r"\bnot responding\b", r"\bunresponsive\b", r"\bgoing floppy\b",
                    r"\bddim yn ymateb\b", r"\bfitting\b", r"\bseizure\b", r"\bgoing (?:grey|blue)\b",
                    r"\bwon'?t wake up\b", r"\bambulance\b", r"\bhaving a (?:heart attack|stroke)\b", r"\bchest pains?\b",
                    r"\bchoking\b", r"\bd?dim yn anadlu\b", r"\bnid yw'?n anadlu\b", r"\b(?:heb|methu) anadlu\b",
                    r"\bgwaedu\b", r"\bl?lewygu\b", r"\btrawiad ar y galon\b", r"\bpoen yn (?:ei |fy |y )?[bf]rest\b",
                    r"\bstr[oô]c\b", r"\btagu\b", r"\bddim yn deffro\b", r"\bambiwlans\b"),
    "overdose": _cue(r"\boverdos\w*\b", r"\btaken (?:all )?(?:my|the|his|her)? ?(?:tablets|pills)\b",
                     r"\bswallowed\b", r"\b(?:pills|tablets) (?:are )?(?:working|kicking in)\b", r"\binsulin\b", r"\b(?:took|taken|had|necked)\b[^.!?]{0,30}\b(?:tablets|pills|paracetamol|insulin|meds)\b", r"\bpills? (?:lined up|in front of me)\b", r"\bwhole (?:box|packet|bottle)\b",
                     r"\b(?:t|d|nh)abledi\b", r"\b[bp]ils\b", r"\btaken something\b", r"\bgorddos\b"),
    "suicide": _cue(r"\bkill(?:ing)? my ?self\b", r"\bend(?:ing)? (?:it|it all|my life|things)\b", r"\bsuicid\w*\b",
                    r"\bcan'?t (?:go on|do this anymore|take it anymore)\b", r"\bnot be here tomorrow\b",
                    r"\bjump(?:ing)? (?:off|from)\b", r"\bbetter off without me\b", r"\bgoodbye\b",
                    r"\b[lh]?ladd fy hun\b", r"\bhunanladdiad\b", r"\bdiweddu'?r cyfan\b", r"\brhoi diwedd\b",
                    r"\bffarwel\b", r"\bdim isio byw\b", r"\bddim eisiau byw\b"),
    "suicide_act": _cue(r"\bnoose\b", r"\btied the rope\b", r"\bsaid my goodbyes\b", r"\bsaying goodbye\b",
                        r"\bwritten (?:the|a|my)? ?notes?\b", r"\bon the (?:edge|ledge|bridge|roof)\b",
                        r"\b(?:pills|tablets) lined up\b", r"\bffarwelio\b", r"\bar y bont\b"),
    "missing": _cue(r"\bmissing\b", r"\bcan'?t find (?:my|our)\b", r"\bcan'?t find (?:her|him|them)\b", r"\bbeen gone\b", r"\bnever (?:arrived|came home|got there)\b", r"\bphone'?s? (?:is )?(?:off|dead)\b", r"\bgone missing\b", r"\bhasn'?t come home\b", r"\bnot come home\b",
                    r"\bwandered off\b", r"\bdisappeared\b", r"\bar goll\b", r"\bheb ddod adre\b", r"\bmethu dod o hyd\b"),
}

SAFEGUARDING_CUES: dict[str, re.Pattern] = {
    "child": _cue(r"\bchild(?:ren)?\b", r"\bkids?\b", r"\bson\b", r"\bdaughter\b", r"\bteen\w*\b", r"\bgirl\b",
                  r"\bboy\b", r"\b\d{1,2} ?(?:yr|year)s? old\b", r"\bplant\b", r"\bplentyn\b", r"\bmhlant\b",
                  r"\bmab\b", r"\bferch\b", r"\bmerch\b"),
    "vulnerable": _cue(r"\bvulnerable\b", r"\belderly\b", r"\bold (?:lady|man|neighbour)\b", r"\bdementia\b",
                       r"\bdisab\w*\b", r"\blearning difficult\w*\b", r"\bcarer\b", r"\bbregus\b", r"\boedrannus\b",
                       r"\bhen (?:ddynes|wraig|ddyn|gymydog)\b"),
    "abuse": _cue(r"\babus\w*\b", r"\bgroom\w*\b", r"\bexploit\w*\b", r"\bcuckoo\w*\b", r"\bcontrolling\b",
                  r"\bcoercive\b", r"\bscared of (?:him|her|them)\b", r"\bafraid of (?:him|her)\b", r"\bneglect\w*\b",
                  r"\bcounty lines\b", r"\bdealers?\b", r"\bsending (?:her|him) (?:pics|pictures|messages)\b",
                  r"\bcam-?drin\b", r"\bgham-?drin\b", r"\bofn (?:fo|hi|nhw)\b", r"\becsbloet\w*\b", r"\brheoli\b"),
    "self_harm": _cue(r"\bself[- ]?harm\w*\b", r"\bcutting (?:my|him|her)sel\w*\b", r"\bhurt(?:ing)? my ?self\b",
                      r"\bhunan-?niweid\w*\b", r"\btorri fy hun\b", r"\bbrifo fy hun\b"),
}

# how often, or since when: a worry that has gone on for a while is rarely a 999 call
TIME_CUES: dict[str, re.Pattern] = {
    "ongoing": _cue(r"\bloads\b", r"\balways\b", r"\ball (?:the time|day)\b", r"\bevery (?:night|day|week|weekend|time|morning|evening)\b",
                    r"\bagain\b", r"\b(?:\d|3)(?:st|nd|rd|th) time\b", r"\bmost (?:nights|days|weekends)\b", r"\bconstantly\b",
                    r"\ba few times\b", r"\bon and off\b", r"\bdays a week\b", r"\bin (?:weeks|months)\b", r"\blately\b",
                    r"\brecently\b", r"\bfor a while\b", r"\btrydydd tro\b", r"\beto\b", r"\bers\b",
                    r"\bkeeps?\b", r"\bfor (?:months|weeks|years|ages)\b", r"\bsometimes\b", r"\bregularly\b",
                    r"\bat all hours\b", r"\bagain and again\b", r"\b(?:has|have|had) been (?:going on|happening)\b",
                    r"\bbob (?:nos|dydd|wythnos|tro|penwythnos)\b", r"\btrwy'?r amser\b", r"\bers (?:misoedd|wythnosau|blynyddoedd|sbel)\b",
                    r"\bweithia[ui]?\b", r"\bwastad\b", r"\byn aml\b", r"\bdro ar [ôo]l tro\b", r"\bo hyd\b"),
    "not_now": _cue(r"\bnot (?:in (?:any )?(?:immediate )?danger )?(?:right )?now\b", r"\bnot in (?:any )?(?:immediate )?danger\b",
                    r"\bdon'?t (?:want|need) (?:an )?ambulance\b", r"\bnot an emergency\b", r"\bnot urgent\b",
                    r"\bdim r[ŵw]an\b", r"\bddim r[ŵw]an\b", r"\bddim nawr\b", r"\bddim (?:angen|isio|eisiau) ambiwlans\b",
                    r"\bddim mewn perygl\b", r"\bddim yn argyfwng\b"),
}

REPORT_CRIME_CUES: dict[str, re.Pattern] = {
    "past_crime": _cue(r"\bstol(?:e|en)\b", r"\bnicked\b", r"\bburgl\w*\b", r"\bbroken into\b", r"\bbroke into\b",
                       r"\bscam+ed\b", r"\bdefrauded\b", r"\bkeyed\b", r"\bvandalis\w*\b", r"\bsmashed\b",
                       r"\bmugged\b", r"\brobbed\b", r"\bassaulted\b", r"\bshoplift\w*\b", r"\bgraffiti\b",
                       r"\bdwyn\b", r"\bddwyn\b", r"\blladrad\b", r"\bwedi torri mewn\b", r"\btwyll\w*\b",
                       r"\bddifrodi\b", r"\bdifrodi\b"),
    "when": _cue(r"\blast (?:night|week|month|year|weekend|tuesday|monday|friday|saturday|sunday)\b", r"\byesterday\b",
                 r"\bago\b", r"\bon (?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
                 r"\bearlier (?:today|this week)\b", r"\bthis morning\b", r"\bovernight\b", r"\blong gone\b",
                 r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday) (?:night|morning|afternoon|evening)\b",
                 r"\bin (?:january|february|march|april|may|june|july|august|september|october|november|december)\b",
                 r"\blast (?:summer|winter|spring|autumn|christmas|bonfire night)\b", r"\bllynedd\b",
                 r"\bneithiwr\b", r"\bddoe\b", r"\bw(?:ythnos|snos) (?:diwethaf|dwetha|dwytha)\b", r"\bmis (?:diwethaf|dwetha|dwytha)\b",
                 r"\bbore ma\b", r"\bn[ôo]l\b", r"\bdydd (?:llun|mawrth|mercher|iau|gwener|sadwrn|sul)\b",
                 r"\bnos (?:lun|fawrth|fercher|iau|wener|sadwrn|sul)\b"),
    "reporting": _cue(r"\breport\w*\b", r"\bcrime number\b", r"\bwho do i tell\b", r"\bwhat do i do\b",
                      r"\briportio\b", r"\badrodd\b", r"\brhoi gwybod\b"),
}

NOT_HAPPENING = _cue(
    r"\bwhat (?:would|if|happens)\b", r"\bhypothetical\w*\b", r"\bif someone\b", r"\bif (?:i|you) (?:were|saw)\b",
    r"\bstatistic\w*\b", r"\bstats\b", r"\bfigures\b", r"\bhow many\b", r"\bpolicy\b", r"\bstrategy\b",
    r"\bknife crime\b", r"\bcampaign\b", r"\bresponse times?\b", r"\bwhen should\b", r"\bshould i call\b",
    r"\bkilling me\b", r"\bdying (?:to|for)\b", r"\bdie of\b", r"\blol\b", r"\blmao\b", r"\bnightmare\b",
    r"\bfilm\b", r"\bon the news\b", r"\bnews said\b", r"\bin the paper\b", r"\bdeath of me\b",
    r"\bif i ever\b", r"\bwhat should i do if\b", r"\bjust want to be prepared\b",
    r"\ball sorted\b", r"\bsorted now\b", r"\bwas solved\b", r"\bgot (?:it|them|her \w+|his \w+|my \w+) back\b",
    r"\bthanks to (?:your|the) (?:team|officers)\b", r"\bhuge thanks\b", r"\bbudget\b", r"\bprecept\b",
    r"\bbeth (?:petai|os|fyddai)\b", r"\bystadegau\b", r"\bffigurau\b", r"\bfaint o\b", r"\bpolisi\b",
    r"\bhunllef\b", r"\bstrategaeth\b", r"\bcyllideb\b", r"\bpraesept\b",
    # safe for now, said outright: a worry to act on, not a 999 call
    r"\b(?:i'?m|im|he'?s|hes|she'?s|shes|they'?re|we'?re) safe (?:now|right now|for now|at the moment)\b",
    r"\bat home with \w+ now and safe\b", r"\b(?:i'?m|im|we'?re|he'?s|she'?s) (?:fine|ok|okay|alright) now\b",
    r"\b(?:burnt|burned) out now\b", r"\bput (?:it|the fire) out\b", r"\bfire (?:was|is) out\b", r"\bwant to (?:report it )?now\b",
    r"\bif (?:i|you|we) (?:call|ring|phone)\b", r"\bhow long does (?:it|an?)\b", r"\bnot going to do anything\b", r"\bwon'?t do anything\b",
    r"\bnever (?:hit|hurt|touched) me\b", r"\bcalmer (?:now|at the moment)\b", r"\bdim heno\b",
    r"\bddim am (?:wneud|neud) dim\b",
    # training, idioms and hypotheticals that name a danger without one
    r"\bfirst aid\b", r"\bcymorth cyntaf\b", r"\bwas it ever\b", r"\b(?:was|is|it'?s) (?:murder|carnage)\b",
    r"\bfy lladd i\b", r"\bbe fysa\b", r"\bbeth fyddai\b", r"\btasa\b", r"\bos (?:bysa|byddai|fysa)\b",
    r"\bbe ddylwn i\b", r"\bbeth ddylwn i\b")

FEATURE_NAMES = (*EMERGENCY_CUES, *SAFEGUARDING_CUES, *TIME_CUES, *REPORT_CRIME_CUES, "not_happening")

# cue pairs (or single cues) that mean someone is at risk now, whatever the model says. A crime or
# a fire told as past ("last night", "on saturday night") is a report; a body in danger is not.
_DECISIVE_UNLESS_PAST = (("weapon", "right_now"), ("break_in", "right_now"), ("violence", "right_now"),
                         ("violence", "weapon"), ("fire",), ("medical",))
_DECISIVE = (("overdose",), ("suicide", "right_now"), ("suicide_act",), ("missing", "right_now"))


@dataclass(frozen=True)
class CueHits:
    """Which cues matched, with the words that matched them (the moderator's 'why')."""
    found: dict[str, str]

    def vector(self) -> list[float]:
        return [1.0 if name in self.found else 0.0 for name in FEATURE_NAMES]

    def signals(self, category: str) -> tuple[str, ...]:
        names = {"emergency": EMERGENCY_CUES, "safeguarding": SAFEGUARDING_CUES,
                 "report_crime": REPORT_CRIME_CUES}.get(category, {})
        return tuple(dict.fromkeys(self.found[name] for name in names if name in self.found))

    @property
    def forces_emergency(self) -> bool:
        if "not_happening" in self.found or "not_now" in self.found:
            return False
        combos = _DECISIVE if self._told_as_past else _DECISIVE + _DECISIVE_UNLESS_PAST
        return any(all(name in self.found for name in combo) for combo in combos)

    @property
    def tells_of_a_pattern(self) -> bool:
        """Said to have gone on a while, or not to be happening now: a worry more often than a 999 call."""
        return "ongoing" in self.found or "not_now" in self.found

    @property
    def _told_as_past(self) -> bool:
        return "when" in self.found and "right_now" not in self.found


def find_cues(text: str) -> CueHits:
    found = {}
    for cues in (EMERGENCY_CUES, SAFEGUARDING_CUES, TIME_CUES, REPORT_CRIME_CUES):
        for name, pattern in cues.items():
            match = pattern.search(text)
            if match:
                found[name] = match.group(0).lower()
    match = NOT_HAPPENING.search(text)
    if match:
        found["not_happening"] = match.group(0).lower()
    return CueHits(found)
