"""What a sentence is about: naming the LEA coordinator, score-report credentials, removing data.

Each kind's classifier reads its own topic here, and the deadline classifier reads all three to
leave those sentences to their kinds: no kind module calls another kind's predicates.
"""
from __future__ import annotations

import re

from caltac_inbox.classify.guard import Guard
from caltac_inbox.classify.text import Sentence

TOPIC_RE = re.compile(r"\bdesignat\w*\b", re.I)
COORDINATOR_RE = re.compile(r"\bcoordinators?\b|\bdesignation\s+(?:process|form|deadline)\b", re.I)
_DESIGNATION_DUE_RE = re.compile(r"\bdesignations?\b[^.]{0,60}\b(?:due|deadlines?)\b", re.I)
# "The following deadlines apply to 2026–27 designations:"
_DUE_FOR_DESIGNATION_RE = re.compile(r"\b(?:due\s+dates?|deadlines?)\b[^.]{0,60}\bdesignations?\b", re.I)


# "select a primary LEA CAASPP coordinator", "coordinators must be appointed"
_CHOOSE_RE = re.compile(
    r"\b(?:appoint|select|nam|choos)\w*\s+(?:an?\s+|the\s+|your\s+)?(?:\d{4}\s*[–-]\s*\d{2,4}\s+)?(?:primary\s+)?LEA\s+(?:CAASPP\s+|ELPAC\s+)?"
    r"coordinators?\b|\bcoordinators?\b[^.;:]{0,60}?\s+(?:is|are|must\s+be|should\s+be|has\s+been"
    r"|have\s+been|was|were|to\s+be)\s+(?:not\s+)?(?:appointed|selected|named|chosen)\b",
    re.I)


_TOPIC_GUARD = Guard(TOPIC_RE, ("designat",))
_COORDINATOR_GUARD = Guard(COORDINATOR_RE, ("coordinator", "designation"))
_DESIGNATION_DUE_GUARD = Guard(_DESIGNATION_DUE_RE, ("designation",))
_DUE_FOR_DESIGNATION_GUARD = Guard(_DUE_FOR_DESIGNATION_RE, ("designation",))
_CHOOSE_GUARD = Guard(_CHOOSE_RE, ("coordinator",))
# "The form is now posted. It must be completed by Monday, July 3." under a heading about naming
# the coordinator: the pronoun is the designation
_VAGUE_SUBJECT_RE = re.compile(r"^\W*(?:it|this|the\s+(?:form|designation|process|appointment))\s+(?:must|should|is|has)\b",
                               re.I)


_DESIGNATION_NOUN_RE = re.compile(r"\bdesignations?\b", re.I)
_REQUIREMENT_RE = re.compile(r"\b(?:must|shall|required|due|no\s+later\s+than)\b", re.I)
_DESIGNATION_NOUN_GUARD = Guard(_DESIGNATION_NOUN_RE, ("designation",))
_REQUIREMENT_GUARD = Guard(_REQUIREMENT_RE, ("must", "shall", "required", "due", "later"))


def designation_in_context(s: Sentence, before: Sentence | None, subject: str) -> bool:
    """ "For 2019–20, that designation is made in TOMS, and it must be finished no later than July 1."
    after a sentence (or under a heading or subject) about the coordinator."""
    if not (s.search(_DESIGNATION_NOUN_GUARD) and s.search(_REQUIREMENT_GUARD)):
        return False
    return any(t and _COORDINATOR_GUARD.search(t) for t in (before.plain_text if before else None, s.heading, subject))


def designation_by_heading(s: Sentence) -> bool:
    if not s.heading or not _VAGUE_SUBJECT_RE.match(s.plain_text):
        return False
    h = s.heading
    return bool((_TOPIC_GUARD.search(h) or _CHOOSE_RE.search(h)) and _COORDINATOR_GUARD.search(h))


def is_designation(s: Sentence) -> bool:
    return (bool(s.search(_TOPIC_GUARD) and s.search(_COORDINATOR_GUARD)) or bool(s.search(_DESIGNATION_DUE_GUARD))
            or bool(s.search(_DUE_FOR_DESIGNATION_GUARD))
            or bool(s.search(_CHOOSE_GUARD)))


CREDENTIAL_ACT_RE = re.compile(
    r"\b(re)?generat\w*\b[^.]{0,80}\b(?:credentials?|secret\s+keys?)\b"
    r"|\b(?:credentials?|secret\s+keys?)\b[^.]{0,80}\b(re)?generat\w*", re.I)
CREDENTIAL_ACT_GUARD = Guard(CREDENTIAL_ACT_RE, ("credential", "secret"))


def is_credential(s: Sentence) -> bool:
    return bool(s.search(CREDENTIAL_ACT_GUARD))


REMOVAL_RE = re.compile(
    r"\b(?:(?:will|would|to)\s+be|are|is|being|get|gets)\s+(?:permanently\s+)?(?:removed|cleared|deleted|purged|erased"
    r"|wiped|emptied|taken\s+out|archived\s+and\s+removed)\b"
    r"|\b(?:will|would)\s+not\s+be\s+(?:retained|kept|carried\s+over|migrated)\b|\bwill\s+not\s+(?:carry|move)\s+over\b"
    r"|\bno\s+longer\s+(?:be\s+)?(?:available|accessible)\b|\blose\s+access\b"
    r"|\b(?:will|would)\s+not\s+be\s+(?:accessible|available)\s+(?:after|beyond|past)\b"
    r"|\bcan\s+no\s+longer\s+be\s+(?:hand\s+)?scored\b"
    r"|\b(?:remain|remains|stay|stays)\s+(?:available|accessible)\s+(?:only\s+)?until\b",
    re.I,
)
DATA_RE = re.compile(
    r"\b(?:data|files?|responses?|reports?|results|materials|records|tests?|scores|assignments|rosters|submissions|answers|groups|entries)\b", re.I)
REMOVAL_GUARD = Guard(REMOVAL_RE, ("removed", "cleared", "deleted", "purged", "erased", "wiped", "emptied", "taken",
                                   "retained", "kept", "carried", "migrated", "carry", "move", "longer", "lose", "until",
                                   "accessible", "available"))


# data that "remains available until" a day is removed then; tests and windows that do are not data
KEPT_DATA_RE = re.compile(r"\b(?:data|files?|responses|reports|results|records|scores|groups|rosters)\b", re.I)


def is_retention(s: Sentence) -> bool:
    m = s.search(REMOVAL_GUARD)
    if not m:
        return False
    if m.group(0).lower().startswith(("remain", "stay")):
        return bool(KEPT_DATA_RE.search(s.plain_text, 0, m.start()))
    return bool(DATA_RE.search(s.plain_text))


__all__ = ["CREDENTIAL_ACT_RE", "DATA_RE", "REMOVAL_RE", "designation_by_heading", "designation_in_context",
           "is_credential", "is_designation", "is_retention"]
