"""Named cues: one idea each about what a dated candidate is for.

A cue reads a candidate (classify.candidates) and says yes or no. It knows nothing of fact
kinds: the arbiter's rule tables (classify.arbiter) combine cues into decisions. Each cue's
docstring gives sentences it fires on (written for this module, not copied from notices).
`CUES` lists them all in the order `cues_of` reports them.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from caltac_inbox.classify.candidates import Candidate
from caltac_inbox.classify.dates import PAST_AFTER_DATE_RE
from caltac_inbox.classify.guard import Guard

_TASK_VERBS = (r"complete|submit|finish|confirm|set\s+up|return|apply|email|send|ensure|enter|order|upload|sign"
               r"|respond|reply|verify|update|request|install|upgrade|file|schedule|ship|pack|place|review"
               r"|approve|certify|resolve|correct|mail|deliver|post|register|designate|assign|take|fill\s+out"
               r"|provide|report|notify|select|identify|finalize|print|destroy|generate")
_TASK_VERB_RE = re.compile(rf"\b(?:{_TASK_VERBS})\b", re.I)
_PARTICIPLE_RE = re.compile(
    r"\b(?:be|been|is|are)\s+(?:completed|submitted|posted|returned|entered|uploaded|finished|received|shipped"
    r"|signed|certified|set\s+up|scheduled|finalized|sent|updated|verified|reviewed|designated|assigned"
    r"|done|taken|filed|destroyed|packed|provided|reported)\b", re.I)
_DUE_MARKER_RE = re.compile(
    r"(?:\b(?:by|due(?:\s+(?:on|by))?|no\s+later\s+than|not\s+later\s+than|on\s+or\s+before|before|prior\s+to"
    r"|until|through|deadline(?:\s+(?:is|of|to\s+\w+(?:\s+\w+){0,6}\s+is))?|closes?(?:\s+on|\s+at)?"
    r"|will\s+close(?:\s+on|\s+at)?|ends?\s+on|extended\s+(?:to|until|through)|moved\s+to|changed\s+to"
    r"|postponed\s+(?:to|until)|last\s+day(?:\s+to\s+\w+(?:\s+\w+){0,6}\s+is)?"
    r"|by\s+the\s+(?:[\w-]+\s+){0,3}(?:date|day|deadline)\s+of)"
    r"(?:\s*(?:,|on|at|by|\(\w+\)|\d{1,2}(?::\d\d)?\s*[ap]\.?\s?m\.?|noon|midnight|\d{1,2}:\d\d|P[SD]?T|\w+day))*\s*$)",
    re.I)
_ADDRESSEE_RE = re.compile(
    r"\b(?:LEAs?|you|your|coordinators?|districts?|schools?|charters?|test\s+site|site\s+coordinators?"
    r"|local\s+educational\s+agenc(?:y|ies)|TOMS\s+users|test\s+examiners?)\b", re.I)
_RECOMMENDATION_RE = re.compile(r"\b(?:recommends?|recommended|encourages?|encouraged|strongly\s+suggests?)\b", re.I)
_MOVED_RE = re.compile(
    r"\b(?:(?:has|have|was|were|is|are|been)\s+)?(?:extended|moved|changed|postponed|pushed\s+back|rescheduled)"
    r"\s+(?:to|until|through)\b", re.I)
_MOVED_FROM_RE = re.compile(r"\b(?:extended|moved|changed|postponed|pushed\s+back|rescheduled)\s+from\s*$", re.I)
_PAST_RE = re.compile(r"\b(?:ended|was\s+due|were\s+due|has\s+passed|have\s+passed|expired|closed\s+on|was|were"
                      r"|occurred|took\s+place)\b", re.I)
_PAST_VERB_TAIL_RE = re.compile(r"\b(?:ended|expired|passed|closed|was\s+due|were\s+due|was|were)(?:\s+(?:on|at))?\s*$",
                                re.I)
_ACTIVITY_WINDOW_RE = re.compile(
    r"\b(?:testing|test\s+administration|administration|ordering|order|viewing|pickup|pick-up|selected\s+testing)"
    r"\s+(?:window|period)\b(?!\s+set-?\s?up)|\bwindows?\s+(?:opens?|begins?|starts?|runs?)\b"
    r"|\b(?:ordering|testing|viewing|orders?)\s+(?:closes?|ends?|opens?|begins?)\b|\b(?:may|can)\s+(?:begin|start)\s+testing\b",
    re.I)
_RELEASE_RE = re.compile(
    r"\b(?:results?|scores?|score\s+reports?|SSRs?|data\s+files?)\b[^.]{0,80}\b(?:released?|available|posted"
    r"|published|appear)\b|\brelease\s+of\b|\bwill\s+be\s+(?:released|published)\b", re.I)
_TRAINING_RE = re.compile(r"\b(?:webcasts?|webinars?|trainings?|workshops?|office\s+hours|conferences?|sessions?"
                          r"|meetings?|coffee\s+chats?|presentations?)\b", re.I)
_ELIGIBILITY_RE = re.compile(r"\b(?:years?\s+old|born\s+(?:on|before|after)|eligib\w+|age\s+\d)\b", re.I)
_LEGAL_RE = re.compile(r"\b(?:Code\s+of\s+Regulations|Education\s+Code|CCR|§|Section\s+\d+|statute|Assembly\s+Bill"
                       r"|Senate\s+Bill)\b", re.I)
_HISTORY_RE = re.compile(r"\b(?:in|since|during)\s+(?:19|20)\d\d\b|\blast\s+(?:year|spring|fall)\b", re.I)
_RETENTION_RE = re.compile(
    r"\b(?:removed|deleted|purged|cleared|erased|no\s+longer\s+(?:be\s+)?(?:available|accessible)"
    r"|(?:will\s+)?not\s+be\s+accessible|retained|retention|archived)\b", re.I)
_UNAVAILABLE_RE = re.compile(
    r"\b(?:offline|unavailable|downtime|maintenance|down\s+for|go(?:es)?\s+down|outage|not\s+be\s+available"
    r"|inaccessible|roles?\s+(?:go|will\s+go)\s+away)\b", re.I)
_LEA_COORDINATOR = r"\b(?:LEA|district|charter)\s+(?:(?:CAASPP|ELPAC|test(?:ing)?|assessment)\s+)*coordinators?\b"
_DESIGNATION_RE = re.compile(rf"\b(?:designat\w+|designee|appoint\w*)\b[^.]{{0,80}}{_LEA_COORDINATOR}"
                             rf"|{_LEA_COORDINATOR}[^.]{{0,40}}\b(?:designat\w+|appoint\w*)", re.I)
_OBLIGATION_RE = re.compile(r"\b(?:must|shall|should|required\s+to|needs?\s+to|has\s+to|have\s+to|(?:is|are)\s+to"
                            r"|(?:is|are)\s+asked\s+to|will\s+need\s+to)\b", re.I)
_IMPERATIVE_RE = re.compile(rf"^\W*(?:(?:if|to|when|once|before|after|for|as)\b[^,;]{{2,100}},\s*)?(?:please\s+)?"
                            rf"(?:{_TASK_VERBS})\b", re.I)
_CREDENTIAL_RE = re.compile(r"\b(?:credentials?|secret\s+key|(?:re)?generate\w*\s+[^.]{0,40}\bkeys?)\b", re.I)
_OFFSET_RE = re.compile(
    r"\b(?:\d+|one|two|three|four|five|six|seven|ten|a)\s+(?:(?:business|calendar|school|instructional)\s+)?"
    r"(?:days?|weeks?|months?)\s+(?:before|after|prior\s+to|ahead\s+of|in\s+advance\s+of)\b", re.I)
_CLOSES_RE = re.compile(
    r"\b(?:closes?|will\s+close|(?:stays?|remains?|will\s+(?:stay|remain|be))\s+open\s+(?:through|until)"
    r"|(?:is|are)\s+open\s+(?:through|until)|open\s+through|available\s+(?:through|until)|open\s+from"
    r"|(?:is|are)\s+(?:being\s+)?accepted\s+(?:through|until))\b", re.I)
_FORM_RE = re.compile(r"\b(?:survey|questionnaire|form|application|nomination|course|certification|request|poll"
                      r"|feedback|registration|sign-?up|RSVP)s?\b", re.I)
_DEADLINE_NOUN_RE = re.compile(r"\b(?:deadline|due\s+date|due|cut-?off|(?:last|final)\s+day)\b", re.I)
# what labels a due date in a list line, a table column or a heading
_DUE_LABEL_RE = re.compile(r"\b(?:deadline|due\s+date|due|cut-?off|(?:last|final)\s+day|(?:completion|closing|close"
                           r"|submission|return|response)\s+date|closes)\b", re.I)
_NEGATION_RE = re.compile(r"\b(?:do\s+not|don't|cannot|can't|not\s+required|no\s+need)\b", re.I)
_DIGIT_RE = re.compile(r"\d")
_ANNOUNCED_RE = re.compile(r"\b(?:will|would)\s+(?:then\s+|also\s+)?be\s+\w+ed\b", re.I)
_EARLIEST_RE = re.compile(r"\b(?:not|no)\s+(?:before|earlier\s+than|sooner\s+than|prior\s+to|until)\s*$", re.I)
_ALTERNATIVE_RE = re.compile(r"\bwhichever\s+(?:comes|is|occurs|falls)\s+(?:first|earlier|sooner|later|last)\b", re.I)
_WINDOW_LABEL_RE = re.compile(r"\b(?:window|period)(?:\s+(?:closes?|opens?|ends?|begins?|starts?)\b|\s*$)", re.I)
# "The roster is due at 4:30 p.m. on": a thing said to be due on the date
_SAID_DUE_RE = re.compile(r"\b(?:is|are|will\s+be|remains?)\s+(?:now\s+)?due(?:\s*(?:,|on|at|by|\d{1,2}(?::\d\d)?\s*"
                          r"[ap]\.?\s?m\.?|noon|midnight|P[SD]?T|\w+day))*\s*$", re.I)
_FORWARDING_RE = re.compile(r"^\W*(?:fyi|fwd?|heads\s+up|please\s+note|note)\b", re.I)


# Each pattern with the words one of which is in every match of it (tests/unit/test_classify_guards.py
# proves them): a cue whose words are not in the candidate's sentence does not run its pattern.
_TASK_VERB_WORDS = tuple(dict.fromkeys(v.split("\\")[0] for v in _TASK_VERBS.split("|")))
_TASK_VERB_GUARD = Guard(_TASK_VERB_RE, _TASK_VERB_WORDS)
_PARTICIPLE_GUARD = Guard(_PARTICIPLE_RE, (
    "completed", "submitted", "posted", "returned", "entered", "uploaded", "finished", "received", "shipped", "signed",
    "certified", "set", "scheduled", "finalized", "sent", "updated", "verified", "reviewed", "designated", "assigned",
    "done", "taken", "filed", "destroyed", "packed", "provided", "reported"))
_DUE_MARKER_GUARD = Guard(_DUE_MARKER_RE, ("by", "due", "later", "before", "prior", "until", "through", "deadline",
                                           "close", "end", "extended", "moved", "changed", "postponed", "last"))
_ADDRESSEE_GUARD = Guard(_ADDRESSEE_RE, ("lea", "you", "coordinator", "district", "school", "charter", "site", "local",
                                         "toms", "examiner"))
_RECOMMENDATION_GUARD = Guard(_RECOMMENDATION_RE, ("recommend", "encourag", "suggest"))
_MOVED_WORDS = ("extended", "moved", "changed", "postponed", "pushed", "rescheduled")
_MOVED_GUARD = Guard(_MOVED_RE, _MOVED_WORDS)
_MOVED_FROM_GUARD = Guard(_MOVED_FROM_RE, _MOVED_WORDS)
_PAST_GUARD = Guard(_PAST_RE, ("ended", "was", "were", "passed", "expired", "closed", "occurred", "took"))
_PAST_VERB_TAIL_GUARD = Guard(_PAST_VERB_TAIL_RE, ("ended", "expired", "passed", "closed", "was", "were"))
_PAST_AFTER_DATE_GUARD = Guard(PAST_AFTER_DATE_RE, ("passed", "ended", "expired", "closed"))
_ACTIVITY_WINDOW_GUARD = Guard(_ACTIVITY_WINDOW_RE, ("window", "period", "order", "testing", "viewing"))
_WINDOW_LABEL_GUARD = Guard(_WINDOW_LABEL_RE, ("window", "period"))
_RELEASE_GUARD = Guard(_RELEASE_RE, ("release", "available", "posted", "published", "appear"))
_TRAINING_GUARD = Guard(_TRAINING_RE, ("webcast", "webinar", "training", "workshop", "office", "conference", "session",
                                       "meeting", "coffee", "presentation"))
_ELIGIBILITY_GUARD = Guard(_ELIGIBILITY_RE, ("old", "born", "eligib", "age"))
_LEGAL_GUARD = Guard(_LEGAL_RE, ("code", "ccr", "\u00a7", "section", "statute", "bill"))
_HISTORY_GUARD = Guard(_HISTORY_RE, ("19", "20", "last"))
_RETENTION_GUARD = Guard(_RETENTION_RE, ("removed", "deleted", "purged", "cleared", "erased", "longer", "accessible",
                                         "retained", "retention", "archived"))
_UNAVAILABLE_GUARD = Guard(_UNAVAILABLE_RE, ("offline", "available", "down", "maintenance", "outage", "accessible",
                                             "away"))
_DESIGNATION_GUARD = Guard(_DESIGNATION_RE, ("coordinator",))
_CREDENTIAL_GUARD = Guard(_CREDENTIAL_RE, ("credential", "secret", "generate"))
_IMPERATIVE_GUARD = Guard(_IMPERATIVE_RE, _TASK_VERB_WORDS)
_OFFSET_GUARD = Guard(_OFFSET_RE, ("before", "after", "prior", "ahead", "advance"))
_CLOSES_GUARD = Guard(_CLOSES_RE, ("close", "open", "available", "accepted"))
_FORM_GUARD = Guard(_FORM_RE, ("survey", "questionnaire", "form", "application", "nomination", "course",
                               "certification", "request", "poll", "feedback", "registration", "sign", "rsvp"))
_DEADLINE_NOUN_GUARD = Guard(_DEADLINE_NOUN_RE, ("deadline", "due", "cut", "last", "final"))
_DUE_LABEL_GUARD = Guard(_DUE_LABEL_RE, ("deadline", "due", "cut", "last", "final", "date", "close"))
_NEGATION_GUARD = Guard(_NEGATION_RE, ("not", "n't", "need"))
_ANNOUNCED_GUARD = Guard(_ANNOUNCED_RE, ("will", "would"))
_EARLIEST_GUARD = Guard(_EARLIEST_RE, ("before", "earlier", "sooner", "prior", "until"))
_ALTERNATIVE_GUARD = Guard(_ALTERNATIVE_RE, ("whichever",))
_SAID_DUE_GUARD = Guard(_SAID_DUE_RE, ("due",))
_FORWARDING_GUARD = Guard(_FORWARDING_RE, ("fyi", "fw", "heads", "note"))


def _hit(guard: Guard, c: Candidate, part: str) -> bool:
    """guard.pattern.search(part) for `part` cut from the candidate's sentence (its text, clause,
    the words before or after the date, its label), run only when a guard word is in the sentence."""
    return bool(guard.mask & c.sentence.cue_mask) and guard.pattern.search(part) is not None


def task_verb(c: Candidate) -> bool:
    """The clause asks for an act: "Complete the survey by May 5", "LEAs must return the kits
    by ...", "To order, submit the form before ..."."""
    return _hit(_TASK_VERB_GUARD, c, c.clause)


def passive_task(c: Candidate) -> bool:
    """A task said in the passive: "Scores should be entered in the portal by May 5", "All kits
    must be shipped no later than ...", "late kits count if they are shipped by ..."; not what
    the sender announces it will do ("the guide will be posted by May 1")."""
    if not _hit(_PARTICIPLE_GUARD, c, c.clause):
        return False
    # "the manual will be posted by May 1" announces what the sender does, unless someone must
    return not _hit(_ANNOUNCED_GUARD, c, c.clause) or bool(_OBLIGATION_RE.search(c.clause))


def due_marker(c: Candidate) -> bool:
    """A deadline word right before the date: "by", "due", "no later than", "before 5 p.m. on",
    "closes on", "extended to", "the deadline to reply is"."""
    return _hit(_DUE_MARKER_GUARD, c, c.before)


def addressee(c: Candidate) -> bool:
    """The sentence speaks to the coordinator or the LEA: "LEAs should ...", "Your district must ..."."""
    return _hit(_ADDRESSEE_GUARD, c, c.text)


def recommendation(c: Candidate) -> bool:
    """A date the sender recommends: "The department recommends that LEAs finish ... by June 2"."""
    return _hit(_RECOMMENDATION_GUARD, c, c.text)


def moved_date(c: Candidate) -> bool:
    """A date that replaces another: "the due date has been extended to May 9", "moved to Friday"."""
    return _hit(_MOVED_GUARD, c, c.before)


def moved_range(c: Candidate) -> bool:
    """A window that is really a date moved from one day to another: "the cutoff was pushed back
    from May 6 to May 20". The new date is the window's end."""
    return c.mention.is_range and _hit(_MOVED_FROM_GUARD, c, c.before)


def past_tense(c: Candidate) -> bool:
    """The date is spoken of as past: "the window ended March 3", "forms were due January 8"."""
    return _hit(_PAST_GUARD, c, c.before)


def past_deadline(c: Candidate) -> bool:
    """A deadline the notice speaks of as past: "the cutoff to reserve kits passed on May 2",
    "entries were due April 3", "the June 9 deadline to reply has passed"."""
    if _hit(_PAST_VERB_TAIL_GUARD, c, c.before) and _hit(_DEADLINE_NOUN_GUARD, c, c.clause):
        return True
    # "The May 6 deadline to order kits has passed"
    return bool(c.sentence.possible(_PAST_AFTER_DATE_GUARD) and PAST_AFTER_DATE_RE.match(c.after))


def activity_window(c: Candidate) -> bool:
    """A window for something the LEA may do: "the testing window opens August 20", "the ordering
    period runs through May 1", a column "Ordering closes" over a date. Its opening or close is
    no deadline."""
    if c.label and _hit(_WINDOW_LABEL_GUARD, c, c.label):
        return True  # "Window closes: June 17": what may be done until then, not what is due
    return _hit(_ACTIVITY_WINDOW_GUARD, c, c.clause) or any(t and _ACTIVITY_WINDOW_GUARD.search(t)
                                                            for t in _column_labels(c))


def _column_labels(c: Candidate) -> tuple[str | None, ...]:
    """What names the column of a short line of a name and a date: its table header, its list's
    lead-in, else the line above it."""
    if len(f"{c.before} {c.after}".split()) > 8:
        return ()
    header_line = c.previous if c.previous and len(c.previous.split()) <= 8 and not _DIGIT_RE.search(c.previous) \
        else None
    return c.header, c.lead_in, header_line


def release(c: Candidate) -> bool:
    """Something that reaches the LEA: "results will be released on July 2", "score reports are
    available in the portal on ..."."""
    # "scores should be posted to CALPADS by ..." is a task of the LEA, not a release to it
    return _hit(_RELEASE_GUARD, c, c.clause) and not _OBLIGATION_RE.search(c.clause)


def training(c: Candidate) -> bool:
    """An event to attend: "a webinar on May 3", "office hours every Tuesday"."""
    return _hit(_TRAINING_GUARD, c, c.clause)


def eligibility(c: Candidate) -> bool:
    """A date about students, not a task: "children five years old on or before September 1"."""
    return _hit(_ELIGIBILITY_GUARD, c, c.clause)


def legal_citation(c: Candidate) -> bool:
    """A law's terms: "under Education Code Section 60640, ..."."""
    return _hit(_LEGAL_GUARD, c, c.text)


def history(c: Candidate) -> bool:
    """What happened before: "in 2021 we moved the portal", "since 2019 ..."."""
    return _hit(_HISTORY_GUARD, c, c.clause)


def retention_verb(c: Candidate) -> bool:
    """Data that goes away: "files will be purged after June 30", "cleared from the system on ..."."""
    return _hit(_RETENTION_GUARD, c, c.text)


def unavailability(c: Candidate) -> bool:
    """A system that is down: "the portal will be offline from ...", "maintenance on Saturday"."""
    return _hit(_UNAVAILABLE_GUARD, c, c.text)


def designation(c: Candidate) -> bool:
    """Naming the LEA's coordinator: "designate your LEA coordinator by ...", "superintendents
    designate a coordinator"."""
    return _hit(_DESIGNATION_GUARD, c, c.text) or bool(c.block and _DESIGNATION_GUARD.search(c.block))


def credential(c: Candidate) -> bool:
    """Score-report credentials: "regenerate the secret key for your vendor"."""
    return _hit(_CREDENTIAL_GUARD, c, c.text)


def offset(c: Candidate) -> bool:
    """A time counted from another the notice leaves to the reader: "two weeks before June 1"."""
    return _hit(_OFFSET_GUARD, c, c.before)


def form_closes(c: Candidate) -> bool:
    """A form, survey, course or application that closes on the date: "the feedback poll closes
    May 9", "registration stays open through June 1". Closing is a deadline to complete it."""
    return _hit(_CLOSES_GUARD, c, c.clause) and _FORM_GUARD.search(c.clause + " " + c.block) is not None


def date_label(c: Candidate) -> bool:
    """The date follows a label that names a deadline: "Due: May 5", "Deadline: Friday, June 2"."""
    if c.label and _hit(_DUE_LABEL_GUARD, c, c.label):
        return True
    return bool(c.sentence.row and c.header and _DUE_LABEL_GUARD.search(c.header))


def task_in_heading(c: Candidate) -> bool:
    """The heading, lead-in or table header over the date names the task: a heading "Return the
    kits" over "Due: May 5"."""
    return bool(c.block and (_TASK_VERB_GUARD.search(c.block) or _FORM_GUARD.search(c.block)))


def task_nearby(c: Candidate) -> bool:
    """The heading over the date or the sentence just before it names the task: "Please return the
    loaner kits." over "Due: May 5"."""
    return task_in_heading(c) or bool(c.previous and _TASK_VERB_GUARD.search(c.previous))


def deadline_column(c: Candidate) -> bool:
    """A short line of a name and a date under a header, lead-in or line above that names the
    column a due date: "Kit return   May 5" under "Task   Due date"."""
    if not (c.sentence.row or c.sentence.kind in ("item", "heading") or len(f"{c.before} {c.after}".split()) <= 6):
        return False
    return any(t and _DUE_LABEL_GUARD.search(t) for t in _column_labels(c))


def said_due(c: Candidate) -> bool:
    """A thing said to be due on the date: "Signed agreements are due Friday, May 5", "the roster
    is due at noon on June 2"."""
    return _hit(_SAID_DUE_GUARD, c, c.before)


def obligation(c: Candidate) -> bool:
    """The clause says the act is required or expected: "schools must ...", "kits are to be ...",
    "sites are asked to ..."."""
    return bool(_OBLIGATION_RE.search(c.clause))


def imperative(c: Candidate) -> bool:
    """The clause opens with a task verb, after an optional "please" or scene-setting clause:
    "Send the roster by ...", "To keep your slot, confirm it before ..."."""
    return bool(c.sentence.possible(_IMPERATIVE_GUARD) and _IMPERATIVE_RE.match(c.clause))


def deadline_word(c: Candidate) -> bool:
    """The clause, label or heading names a deadline: "the due date", "the cutoff", "the last day"."""
    return _hit(_DEADLINE_NOUN_GUARD, c, c.clause) or bool(c.label and _hit(_DEADLINE_NOUN_GUARD, c, c.label))


def in_heading(c: Candidate) -> bool:
    """The date is in a heading, which names what the paragraph under it says: "Kits Due May 5"."""
    return c.sentence.kind == "heading"


def earliest_day(c: Candidate) -> bool:
    """The date is the first day something may be done, not the last: "but not before May 4",
    "no earlier than June 1"."""
    return _hit(_EARLIEST_GUARD, c, c.before)


def alternative(c: Candidate) -> bool:
    """The date is one of two, whichever comes first or last: "by May 5 or the last day of
    school, whichever is earlier"."""
    return _hit(_ALTERNATIVE_GUARD, c, c.clause)


def negation(c: Candidate) -> bool:
    """The clause says not to: "do not submit before May 1", "no action is required"."""
    return _hit(_NEGATION_GUARD, c, c.clause)


def range_(c: Candidate) -> bool:
    """The date is a window with a start and an end: "May 1-5", "from June 2 through June 9"."""
    return c.mention.is_range


def forwarding_note(c: Candidate) -> bool:
    """A colleague's comment above a forwarded notice: "FYI: roles go away June 30"."""
    return _hit(_FORWARDING_GUARD, c, c.text)


Cue = Callable[[Candidate], bool]
CUES: tuple[tuple[str, Cue], ...] = (
    ("task verb", task_verb), ("passive task", passive_task), ("due marker", due_marker),
    ("addressee", addressee), ("recommendation", recommendation), ("moved date", moved_date), ("moved range", moved_range),
    ("past tense", past_tense), ("past deadline", past_deadline), ("activity window", activity_window), ("release", release),
    ("training", training), ("eligibility", eligibility), ("legal citation", legal_citation),
    ("history", history), ("retention verb", retention_verb), ("unavailability", unavailability),
    ("designation", designation), ("credential", credential), ("offset", offset),
    ("form closes", form_closes), ("date label", date_label), ("task in heading", task_in_heading),
    ("negation", negation), ("earliest day", earliest_day), ("alternative", alternative), ("range", range_), ("forwarding note", forwarding_note),
    ("obligation", obligation), ("imperative", imperative), ("deadline word", deadline_word),
    ("in heading", in_heading), ("said due", said_due), ("task nearby", task_nearby), ("deadline column", deadline_column),
)


# cues that read only the sentence and what it inherits: the same for every date of a sentence
SENTENCE_CUES = frozenset({"addressee", "recommendation", "legal citation", "retention verb", "unavailability",
                           "designation", "credential", "task in heading", "in heading", "task nearby",
                           "forwarding note"})


def cues_of(c: Candidate, per_sentence: dict[int, frozenset[str]] | None = None) -> frozenset[str]:
    """The names of the cues that fire on `c`. `per_sentence` keeps the sentence-wide cues of
    each sentence read so far, so a sentence of many dates is read once."""
    index = c.sentence.index
    if per_sentence is None or index not in per_sentence:
        sentence_wide = frozenset(name for name, cue in _SENTENCE_WIDE if cue(c))
        if per_sentence is None:
            per_sentence = {}
        per_sentence[index] = sentence_wide
    return per_sentence[index] | frozenset(name for name, cue in _PER_DATE if cue(c))


_SENTENCE_WIDE = tuple((name, cue) for name, cue in CUES if name in SENTENCE_CUES)
_PER_DATE = tuple((name, cue) for name, cue in CUES if name not in SENTENCE_CUES)


__all__ = ["CUES", "SENTENCE_CUES", "Cue", "cues_of"]
