"""Notice variants from templates, seeded: a pure module (no I/O, no clock).

A variant is one RFC 5322 message (bytes) with the facts a careful reader takes out of
it by ../shared/FACTS.md. Each family is one cue family: its templates say a task and
its date in one way, crossed with task verbs, date forms (weekday or not, year or not,
time or not, ranges), structures (prose sentence, bulleted list under a lead-in,
"Label: date" line under a heading, table row, heading over a paragraph) and deliveries
(plain text, HTML only, forwarded Outlook-style and Gmail-style). Every notice carries
exactly one fact (or none, for the negative families) amid undated filler, so a variant
passes only when exactly that fact comes out.

Dates are chosen first and written second, so the expectation never depends on parsing:
a date written without a year lies within a year after the sent date (or before it, for
a date spoken of as past), so the year FACTS.md's rule gives is the chosen one; a
weekday is the date's own, except in the contradicting-weekday negatives, where it is
neither the date's weekday nor that of the same day a year before or after.

Readings of FACTS.md this suite takes where it leaves room:
- "before <date>" and "before 5 p.m. on <date>" are due that date (at that time), not the
  day before; "open through/until <date>" is due that date, at the time when one is given.
- "removed/no longer available after <date>": the retention is `at` that date (at the
  time, when one is given).
- "open from A through B" and "extended from A to B" are one deadline, B; A is no fact.
- A credential reminder with a date, and a retention with the work to finish before it
  ("Complete all hand scoring before then"), are one fact each, no separate deadline.
- A default designation spoken of after its date ("no coordinator was designated by
  July 1, 2026") is the designation fact, due that date.
- A weekday that contradicts its date is no fact, with or without a year.
- A forwarded notice takes its year from the inner notice's sent date.
"""
from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.contentmanager import raw_data_manager
from email.message import EmailMessage
from email.policy import compat32
from email.utils import format_datetime
from html import escape
from zoneinfo import ZoneInfo

LA = ZoneInfo("America/Los_Angeles")
SEED = 20261207
STRUCTURES = ("prose", "list", "label", "table", "heading")
DELIVERIES = ("plain", "html", "outlook", "gmail")
KEYS = {"downtime": ("start", "end"), "designation": ("due",), "deadline": ("due",),
        "retention": ("at",), "credential": ("school_year",)}

# ----------------------------------------------------------------------------- the notice


@dataclass(frozen=True)
class Block:
    """One block of a notice body: a heading, a paragraph, a list or a table."""

    kind: str  # "heading" | "para" | "list" | "table"
    text: str = ""
    items: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()  # a table's first row is its header


@dataclass(frozen=True)
class Expected:
    """One fact a variant must yield: its kind and key values (FACTS.md 'Labels').
    A key value is a date (matched on the day), a datetime (matched exactly) or a
    school year."""

    kind: str
    keys: tuple[tuple[str, date | datetime | str], ...]

    def describe(self) -> str:
        return f"{self.kind}(" + ", ".join(f"{k}={_iso(v)}" for k, v in self.keys) + ")"


@dataclass(frozen=True)
class Variant:
    family: str
    check: str  # "mft" (the fact comes out), "neg" (no fact), "inv" (one rendering of an invariance group)
    structure: str
    delivery: str
    sent: datetime
    focus: str  # the generated sentence(s) that carry the fact, for failure listings
    blocks: tuple[Block, ...]
    expected: tuple[Expected, ...]
    subject: str
    program: str
    group: str | None = None  # invariance group id: its renderings must agree
    number: int = 0

    @property
    def name(self) -> str:
        return f"{self.family}-{self.check}-{self.number:04d}-{self.structure}-{self.delivery}"

    def message(self) -> bytes:
        return build_message(self)

    @property
    def date_form(self) -> str:
        """How its dates are written, read back from the text: weekday, year, time of day."""
        text = self.focus
        parts = [name for name, present in (
            ("weekday", any(f"{day}, " in text for day in WEEKDAYS)),
            ("year", bool(re.search(r"\b(?:19|20)\d\d\b(?![-–]\d)", text))),
            ("time", ".m." in text or "noon" in text)) if present]
        return "+".join(parts) or "bare"


def _iso(value: date | datetime | str) -> str:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


# ----------------------------------------------------------------------------- date forms

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# (hour, minute, how a notice writes it)
TIMES = ((17, 0, "5 p.m."), (23, 59, "11:59 p.m."), (15, 0, "3 p.m. PT"), (16, 30, "4:30 p.m."),
         (17, 0, "5:00 p.m. Pacific time"))


@dataclass(frozen=True)
class DateForm:
    weekday: bool
    year: bool
    clock: tuple[int, int, str] | None  # None: a date without a time of day
    time_first: bool = True  # "5 p.m. on Friday, May 14" rather than "Friday, May 14, at 5 p.m."


def day_text(day: date, *, weekday: bool, year: bool, wrong_weekday: str | None = None) -> str:
    text = f"{MONTHS[day.month - 1]} {day.day}"
    if year:
        text += f", {day.year}"
    if weekday:
        text = f"{wrong_weekday or WEEKDAYS[day.weekday()]}, {text}"
    return text


def when_text(day: date, form: DateForm, wrong_weekday: str | None = None) -> str:
    """The date (and time) as the object of a due marker: 'Friday, May 14, 2027', '5 p.m. on May 14'."""
    text = day_text(day, weekday=form.weekday, year=form.year, wrong_weekday=wrong_weekday)
    if form.clock is None:
        return text
    return f"{form.clock[2]} on {text}" if form.time_first else f"{text}, at {form.clock[2]}"


def on_text(day: date, form: DateForm) -> str:
    """The date (and time) after 'closes' or 'removed': 'on May 14', 'at 5 p.m. on May 14'."""
    text = when_text(day, form)
    return f"at {text}" if form.clock is not None and form.time_first else f"on {text}"


def sentence(text: str) -> str:
    """`text` ending in one full stop ('... at 5 p.m.' already has one)."""
    return text if text.endswith(".") else text + "."


def key_value(day: date, form: DateForm) -> date | datetime:
    if form.clock is None:
        return day
    return datetime.combine(day, time(form.clock[0], form.clock[1]), tzinfo=LA)


def school_year(start_year: int, style: int) -> tuple[str, str]:
    """(as a notice writes it, as FACTS.md writes it)."""
    end = start_year + 1
    written = (f"{start_year}–{end % 100:02d}", f"{start_year}–{end}", f"{start_year}-{end % 100:02d}")[style % 3]
    return written, f"{start_year}-{end % 100:02d}"


def school_year_of(day: date) -> int:
    """The first calendar year of the school year a day falls in (July to June)."""
    return day.year if day.month >= 7 else day.year - 1


class Draw:
    """The seeded choices one family makes."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, options: Sequence):  # type: ignore[no-untyped-def]
        return options[self.rng.randrange(len(options))]

    def sent(self) -> datetime:
        day = date(2019, 1, 1) + timedelta(days=self.rng.randrange(365 * 9))
        return datetime.combine(day, time(self.pick((7, 9, 10, 13, 15, 16)), self.pick((0, 5, 30, 45))), tzinfo=LA)

    def ahead(self, sent: datetime, low: int = 7, high: int = 240, *, weekend: bool = False) -> date:
        """A day `low` to `high` days after the sent date; a school day unless `weekend`."""
        day = sent.date() + timedelta(days=self.rng.randint(low, high))
        return day if weekend or day.weekday() < 5 else day + timedelta(days=7 - day.weekday())

    def before(self, sent: datetime, low: int = 7, high: int = 200, *, weekend: bool = False) -> date:
        day = sent.date() - timedelta(days=self.rng.randint(low, high))
        return day if weekend or day.weekday() < 5 else day - timedelta(days=day.weekday() - 4)

    def form(self, *, clock: bool | None = None, weekday: bool | None = None, year: bool | None = None) -> DateForm:
        with_clock = self.rng.random() < 0.35 if clock is None else clock
        return DateForm(
            weekday=self.rng.random() < 0.5 if weekday is None else weekday,
            year=self.rng.random() < 0.5 if year is None else year,
            clock=self.pick(TIMES) if with_clock else None,
            time_first=self.rng.random() < 0.6,
        )


# ----------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class Task:
    verb: str
    obj: str
    topic: str  # a heading or table cell naming the task
    passive: str  # "<subject> should be <participle>": the subject and the participle phrase
    participle: str
    due: str = ""  # what "is due" / "are due": defaults to the passive subject

    @property
    def due_subject(self) -> str:
        return self.due or self.passive

    @property
    def is_due(self) -> str:
        """'<subject> is' or '<subject> are'."""
        singular = self.due_subject.startswith("The ")
        return f"{self.due_subject} {'is' if singular else 'are'}"

    @property
    def was_due(self) -> str:
        singular = self.due_subject.startswith("The ")
        return f"{self.due_subject} {'was' if singular else 'were'}"


TASKS = (
    Task("complete", "the LEA Post-Test Survey", "LEA Post-Test Survey", "The LEA Post-Test Survey", "completed"),
    Task("return", "all scorable test materials to ETS", "Return of Scorable Materials",
         "All scorable test materials", "returned to ETS"),
    Task("submit", "the signed LEA Test Security Certification", "LEA Test Security Certification",
         "The signed LEA Test Security Certification", "submitted in TOMS"),
    Task("set up", "test administration windows in TOMS for each school", "Test Administration Window Setup",
         "Test administration windows", "set up in TOMS"),
    Task("enter", "designated supports and accommodations for each student in TOMS", "Student Test Settings",
         "Designated supports and accommodations", "entered in TOMS"),
    Task("post", "Initial ELPAC results to CALPADS", "Initial ELPAC Results in CALPADS",
         "Initial ELPAC results", "posted to CALPADS"),
    Task("upload", "the completed site coordinator roster", "Site Coordinator Roster",
         "The completed site coordinator roster", "uploaded to TOMS"),
    Task("upgrade", "student testing devices to a supported operating system", "Device Upgrades",
         "Student testing devices", "upgraded to a supported operating system",
         "Device upgrades"),
    Task("ship", "used answer books to the scoring contractor", "Answer Book Shipment",
         "Used answer books", "shipped to the scoring contractor"),
    Task("apply", "to serve as a Summative ELPAC educator scorer", "Educator Scorer Applications",
         "Educator scorer applications", "submitted"),
    Task("sign", "the CAASPP Test Security Agreement for every test examiner", "Test Security Agreements",
         "Test Security Agreements for every test examiner", "signed"),
)

# Things that close: (what, its heading)
CLOSING = (
    ("the LEA Post-Test Survey", "LEA Post-Test Survey"),
    ("the LEA Coordinator Certification Course", "Coordinator Certification Course"),
    ("the educator scorer application", "Educator Scorer Application"),
    ("the Accessibility Resources Request Form", "Accessibility Resources Request Form"),
    ("the Student Score Report feedback survey", "Score Report Feedback Survey"),
    ("the Test Examiner Certification course", "Test Examiner Certification"),
)

PROGRAMS = ("CAASPP", "ELPAC")
GREETINGS = ("Dear LEA {p} Coordinator:", "Dear LEA {p} Coordinators,", "Hello LEA {p} Coordinator,")
INTROS = (
    "This message has important information for LEA {p} coordinators about the current administration.",
    "Thank you for your continued work to support students and test examiners in your LEA.",
    "Please share this information with site coordinators in your LEA as appropriate.",
)
CLOSINGS = (
    ("If you have any questions, please contact the California Technical Assistance Center (CalTAC) "
    "by phone at 800-955-2954 or by email at caltac@ets.org."),
    "For questions about this message, contact CalTAC by email at caltac@ets.org.",
)
FILLER = (
    "Additional information is available on the CAASPP and ELPAC websites.",
    "Site coordinators can find the updated manual in the Resources section of the website.",
    "Thank you for your attention to this request.",
)
FILLER_ITEMS = ("Review the updated Test Administration Manual.",
                "Share this information with your site coordinators.",
                "Confirm that your contact information in TOMS is current.")
COMMENTS = ("FYI, see below.", "Forwarding for your calendars.", "Please see the note from CalTAC below.",
            "Sharing in case you missed this one.")


# ----------------------------------------------------------------------------- structures


@dataclass(frozen=True)
class Fact:
    """One fact before it is placed in a structure: its sentence, its task and its date,
    and how each structure writes them."""

    sentence: str  # the prose sentence, date included
    topic: str  # names the task (heading, table cell)
    task: str  # the task without its date (a sentence)
    label: str  # the word(s) of a "Label: date" line or a table column: "Deadline", "Closes"
    date_text: str  # the date as a label line or table cell gives it
    expected: tuple[Expected, ...]
    lead_in: str = "Please note the following reminders:"


def place(fact: Fact, structure: str, draw: Draw) -> tuple[tuple[Block, ...], str]:
    """(blocks, the focus text) of a fact in one structure."""
    filler = draw.pick(FILLER)
    if structure == "prose":
        return (Block("para", f"{fact.sentence} {filler}"),), fact.sentence
    if structure == "list":
        items = [fact.sentence, draw.pick(FILLER_ITEMS)]
        draw.rng.shuffle(items)
        return (Block("para", fact.lead_in), Block("list", items=tuple(items))), fact.sentence
    if structure == "label":
        line = f"{fact.label}: {fact.date_text}"
        return (Block("heading", fact.topic), Block("para", fact.task), Block("para", line)), f"{fact.topic} / {line}"
    if structure == "table":
        rows = (("Activity", fact.label), (fact.topic, fact.date_text))
        return ((Block("para", fact.lead_in), Block("table", rows=rows)),
                f"[{fact.topic} | {fact.label}: {fact.date_text}]")
    if structure == "heading":
        return (Block("heading", fact.topic), Block("para", f"{fact.sentence} {filler}")), fact.sentence
    raise ValueError(structure)


# ----------------------------------------------------------------------------- families
# Each maker draws one fact of its family: (Fact, the structures it can be written in).
Maker = Callable[[Draw, datetime], tuple[Fact, tuple[str, ...]]]
ALL = STRUCTURES


def deadline(due: date | datetime) -> tuple[Expected, ...]:
    return (Expected("deadline", (("due", due),)),)


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def due_marker(draw: Draw, sent: datetime) -> tuple[Fact, tuple[str, ...]]:
    """'due', 'by', 'no later than', 'must be received by', 'the last day to'."""
    task, day, form = draw.pick(TASKS), draw.ahead(sent), draw.form()
    when = when_text(day, form)
    template = draw.rng.randrange(7)
    if template == 4:  # "the last day to ... is <day>" names a day, not a time
        form = DateForm(form.weekday, form.year, None)
    text = (
        f"{task.is_due} due {on_text(day, form)}",
        f"LEAs must {task.verb} {task.obj} by {when}",
        f"Please {task.verb} {task.obj} no later than {when}",
        f"{task.passive} must be received by {when}",
        f"The last day to {task.verb} {task.obj} is {when_text(day, form)}",
        f"LEA coordinators need to {task.verb} {task.obj} by {when}",
        f"Please {task.verb} {task.obj} before {when}",
    )[template]
    label = draw.pick(("Deadline", "Due date", "Due"))
    fact = Fact(sentence(text), task.topic, f"LEA coordinators need to {task.verb} {task.obj}.", label,
                when_text(day, form), deadline(key_value(day, form)))
    return fact, ALL


def closes(draw: Draw, sent: datetime) -> tuple[Fact, tuple[str, ...]]:
    """A survey, form, course or application that closes, or stays open through, a date."""
    what, topic = draw.pick(CLOSING)
    day, form = draw.ahead(sent), draw.form()
    when = when_text(day, form)
    opens = draw.before(sent, 3, 40) if draw.rng.random() < 0.5 else draw.ahead(sent, 1, 3, weekend=True)
    opens_text = day_text(opens, weekday=False, year=form.year and opens.year != day.year)
    text = draw.pick((
        f"{_cap(what)} closes {on_text(day, form)}",
        f"{_cap(what)} will close {on_text(day, form)}",
        f"{_cap(what)} is open through {when}",
        f"{_cap(what)} stays open through {when}",
        f"{_cap(what)} will remain open until {when}",
        f"{_cap(what)} is open from {opens_text} through {when}",
        f"{_cap(what)} opened {opens_text} and will close {on_text(day, form)}" if opens < sent.date()
        else f"{_cap(what)} will be open from {opens_text} to {when}",
    ))
    fact = Fact(sentence(text), topic, f"LEA coordinators are asked to complete {what}.",
                draw.pick(("Closes", "Closing date")), when_text(day, form), deadline(key_value(day, form)))
    return fact, ALL


def recommendation(draw: Draw, sent: datetime) -> tuple[Fact, tuple[str, ...]]:
    """'<sender> recommends that LEAs <do the task> by <date>'."""
    task, day, form = draw.pick(TASKS), draw.ahead(sent), draw.form()
    when = when_text(day, form)
    text = draw.pick((
        f"ETS recommends that LEAs {task.verb} {task.obj} by {when}",
        f"The CDE recommends that LEA coordinators {task.verb} {task.obj} no later than {when}",
        f"CalTAC strongly recommends that LEAs {task.verb} {task.obj} by {when}",
        f"It is recommended that LEAs {task.verb} {task.obj} by {when}",
        f"ETS recommends that you {task.verb} {task.obj} no later than {when}",
    ))
    fact = Fact(sentence(text), task.topic, f"ETS recommends that LEAs {task.verb} {task.obj}.",
                "Recommended completion date", when_text(day, form), deadline(key_value(day, form)))
    return fact, ALL


def moved(draw: Draw, sent: datetime) -> tuple[Fact, tuple[str, ...]]:
    """A due date moved: the new date is the fact, the old one is not."""
    task, form = draw.pick(TASKS), draw.form()
    old = draw.ahead(sent, 3, 120)
    new = draw.ahead(datetime.combine(old, time(9), tzinfo=LA), 3, 30)
    when, was = when_text(new, form), day_text(old, weekday=False, year=form.year)
    text = draw.pick((
        f"The due date to {task.verb} {task.obj} has been extended to {when}",
        f"The deadline to {task.verb} {task.obj} has been extended from {was} to {when}",
        f"The {task.topic} deadline has been moved to {when}",
        f"The deadline for the {task.topic} has been extended to {when}",
        f"LEAs now have until {when} to {task.verb} {task.obj}",
    ))
    fact = Fact(sentence(text), task.topic, f"The deadline to {task.verb} {task.obj} has changed.",
                draw.pick(("New due date", "Extended deadline")), when_text(new, form),
                deadline(key_value(new, form)))
    return fact, ALL


def passive(draw: Draw, sent: datetime) -> tuple[Fact, tuple[str, ...]]:
    """A passive task: '<data> should be posted to <system> by <date>'."""
    task, day, form = draw.pick(TASKS), draw.ahead(sent), draw.form()
    when = when_text(day, form)
    be = "is" if task.passive.startswith("The ") else "are"
    text = draw.pick((
        f"{task.passive} should be {task.participle} by {when}",
        f"{task.passive} must be {task.participle} no later than {when}",
        f"{task.passive} {be} to be {task.participle} by {when}",
    ))
    fact = Fact(sentence(text), task.topic, f"{task.passive} should be {task.participle}.", "Due",
                when_text(day, form), deadline(key_value(day, form)))
    return fact, ("prose", "list", "heading")


def label_line(draw: Draw, sent: datetime) -> tuple[Fact, tuple[str, ...]]:
    """'Deadline: <date>' on its own line (or cell) under a heading that names the task."""
    task, day, form = draw.pick(TASKS), draw.ahead(sent), draw.form()
    label = draw.pick(("Deadline", "Due date", "Due", "Submission deadline", "Last day to submit"))
    task_sentence = draw.pick((f"LEA coordinators are asked to {task.verb} {task.obj}.",
                               f"Please {task.verb} {task.obj}.",
                               f"All LEAs must {task.verb} {task.obj}."))
    fact = Fact(f"{label}: {when_text(day, form)}", task.topic, task_sentence, label, when_text(day, form),
                deadline(key_value(day, form)))
    return fact, ("label", "table")


def heading_date(draw: Draw, sent: datetime) -> tuple[Fact, tuple[str, ...]]:
    """A heading carrying the task and the date over a paragraph that says the rest."""
    task, day = draw.pick(TASKS), draw.ahead(sent)
    form = draw.form(clock=False)
    when = when_text(day, form)
    heading = draw.pick((f"{task.topic} Due {when}", f"{_cap(task.verb)} {task.obj} by {when}",
                         f"Deadline to {task.verb} {task.obj}: {when}", f"{task.topic}: Due {when}"))
    body = draw.pick((f"All LEAs are asked to {task.verb} {task.obj}. Instructions are on the website.",
                      f"LEA coordinators should {task.verb} {task.obj}. Contact CalTAC with any questions.",
                      f"Each LEA needs to {task.verb} {task.obj} this year."))
    fact = Fact(body, heading, body, "", when, deadline(key_value(day, form)))
    return fact, ("heading_over",)


def respond_before(draw: Draw, sent: datetime) -> tuple[Fact, tuple[str, ...]]:
    """'respond before 5 p.m. on <weekday>, <date>'."""
    day = draw.ahead(sent, 3, 60)
    form = draw.form(clock=True, weekday=True)
    form = DateForm(form.weekday, form.year, form.clock, time_first=True)
    when = when_text(day, form)
    text = draw.pick((
        f"Please respond to this request before {when}",
        f"To confirm your LEA's participation, please reply to CalTAC before {when}",
        f"LEAs are asked to respond before {when}",
        f"To be included in the study, respond to this request before {when}",
    ))
    fact = Fact(sentence(text), "Response Requested", "Please respond to this request.", "Respond by", when,
                deadline(key_value(day, form)), lead_in="Action requested:")
    return fact, ("prose", "list", "heading")


SYSTEMS = ("TOMS", "the Test Operations Management System (TOMS)", "TOMS and the Online Reporting System",
           "the Test Delivery System and the Test Administrator Interface", "all CAASPP and ELPAC systems",
           "the Interim Assessment Hand Scoring System (IAHSS)", "CERS")


def downtime(draw: Draw, sent: datetime) -> tuple[Fact, tuple[str, ...]]:
    """Systems unavailable from a time to a time."""
    start_day = draw.ahead(sent, 5, 150, weekend=True)
    end_day = start_day + timedelta(days=draw.rng.randint(1, 5))
    year = draw.rng.random() < 0.5
    weekday = draw.rng.random() < 0.6
    systems = draw.pick(SYSTEMS)
    if draw.rng.random() < 0.75:
        start_clock = draw.pick(((17, 0, "5 p.m."), (18, 0, "6 p.m."), (21, 0, "9 p.m.")))
        end_clock = draw.pick(((8, 0, "8 a.m."), (7, 0, "7 a.m."), (6, 0, "6 a.m.")))
        start = DateForm(weekday, year, start_clock, draw.rng.random() < 0.5)
        end = DateForm(weekday, year, end_clock, start.time_first)
    else:
        start = end = DateForm(weekday, year, None)
    s, e = when_text(start_day, start), when_text(end_day, end)
    if start.weekday or start.year or (start.clock and not start.time_first):
        s += ","  # "from Friday, July 30, through": the comma closes the date
    text = draw.pick((
        f"{_cap(systems)} will be unavailable from {s} through {e}",
        (f"A planned system downtime will take place from {s} until {e}; during this time "
        f"{systems} will not be available"),
        f"{_cap(systems)} will be offline from {s} to {e}",
        f"{_cap(systems)} will not be available from {s} until {e} for scheduled maintenance",
    ))
    expected = (Expected("downtime", (("start", key_value(start_day, start)), ("end", key_value(end_day, end)))),)
    fact = Fact(sentence(text), "System Downtime", f"{_cap(systems)} will be unavailable.",
                "Downtime", f"{s} through {e}", expected, lead_in="Upcoming system maintenance:")
    return fact, ("prose", "list", "heading", "table")


def designation(draw: Draw, sent: datetime) -> tuple[Fact, tuple[str, ...]]:
    """The deadline to designate an LEA coordinator, or a default designation after it."""
    program = draw.pick(PROGRAMS)
    if draw.rng.random() < 0.75:
        day = _next(sent.date(), 7, 1)
        if draw.rng.random() < 0.5 or not 7 <= (day - sent.date()).days <= 240:
            day = draw.ahead(sent, 7, 200)  # a July 1 just past or far off reads as ambiguous
        form = draw.form(clock=False)
        when = when_text(day, form)
        written, _ = school_year(_upcoming_year(day), draw.rng.randrange(3))
        text = draw.pick((
            (f"LEA superintendents must designate an LEA {program} coordinator for the {written} school year "
            f"in TOMS by {when}"),
            f"Please designate your LEA {program} coordinator for the {written} administration no later than {when}",
            (f"If an LEA does not designate an LEA {program} coordinator for {written} by {when}, the current "
            f"coordinator will be designated by default"),
        ))
    else:  # spoken of after the date: a default designation happened
        day = _previous(sent.date(), 7, 1) if draw.rng.random() < 0.7 else _previous(sent.date(), 6, 30)
        form = draw.form(clock=False, year=True)
        when = when_text(day, form)
        written, _year_label = school_year(_upcoming_year(day), draw.rng.randrange(3))
        text = draw.pick((
            (f"Because no LEA {program} coordinator was designated by {when}, your superintendent has been "
            f"designated as the LEA {program} coordinator for {written} by default"),
            (f"No new LEA {program} coordinator was designated by the {when} deadline, so the current coordinator "
            f"was designated by default for the {written} school year"),
        ))
    expected = (Expected("designation", (("due", day),)),)
    fact = Fact(sentence(text), "LEA Coordinator Designation", sentence(text), "", when, expected)
    return fact, ("prose", "list", "heading")


def _upcoming_year(due: date) -> int:
    """The school year a coordinator designated by `due` serves: the one starting next July
    (or this July, for a date up to September)."""
    return due.year if due.month <= 9 else due.year + 1


def _next(after: date, month: int, day: int) -> date:
    candidate = date(after.year, month, day)
    return candidate if candidate > after else date(after.year + 1, month, day)


def _previous(before: date, month: int, day: int) -> date:
    candidate = date(before.year, month, day)
    return candidate if candidate < before else date(before.year - 1, month, day)


def credential(draw: Draw, sent: datetime) -> tuple[Fact, tuple[str, ...]]:
    """A reminder to generate or regenerate SIS-vendor credentials for a reporting year
    (the school year the notice is sent in, named in the sentence)."""
    written, year_label = school_year(school_year_of(sent.date()), draw.rng.randrange(3))
    day, form = draw.ahead(sent, 7, 90), draw.form(clock=False)
    when = when_text(day, form)
    text = draw.pick((
        (f"LEA coordinators should generate new student information system (SIS) vendor credentials in TOMS "
        f"so the vendor can retrieve {written} student score data"),
        (f"To keep receiving {written} results, regenerate your SIS vendor's user name and secret key in TOMS "
        f"by {when}"),
        (f"Please regenerate the SIS vendor credentials (user name and secret key) for the {written} school year "
        f"in TOMS"),
        f"LEAs that use an SIS vendor must generate vendor credentials for {written} score reports by {when}",
    ))
    expected = (Expected("credential", (("school_year", year_label),)),)
    fact = Fact(sentence(text), "SIS Vendor Credentials", sentence(text), "", when, expected)
    return fact, ("prose", "list", "heading")


RETAINED = (
    ("Student responses awaiting hand scoring in the Interim Assessment Hand Scoring System",
     "Complete all hand scoring before then."),
    ("Student score data files in TOMS", "Download any files you need before that date."),
    ("Student Score Reports from the prior administration", ""),
    ("Interim assessment results in THSS", "Please finish scoring in THSS before then."),
    ("Hand-scoring responses for the Interim Assessments", ""),
)


def retention(draw: Draw, sent: datetime) -> tuple[Fact, tuple[str, ...]]:
    """Data removed, deleted, purged, cleared, no longer available after a time ('after
    June 30' is removal at June 30, the last day it is there)."""
    data, work = draw.pick(RETAINED)
    day, form = draw.ahead(sent, 7, 200), draw.form()
    when, on = when_text(day, form), on_text(day, form)
    text = draw.pick((
        f"{data} will be removed {on}",
        f"{data} will be deleted {on}",
        f"{data} will be purged from the system {on}",
        f"{data} will be cleared from the system {on}",
        f"{data} will no longer be available after {when}",
        f"{data} will not be accessible after {when}",
    ))
    text = f"{sentence(text)} {work}".strip()
    expected = (Expected("retention", (("at", key_value(day, form)),)),)
    fact = Fact(text, "Data Removal", text, "", when, expected)
    return fact, ("prose", "list", "heading")


def past_tense(draw: Draw, sent: datetime) -> tuple[Fact, tuple[str, ...]]:
    """A deadline spoken of as past: its year is the nearest on or before the sent date."""
    task, day = draw.pick(TASKS), draw.before(sent, 7, 200)
    form = draw.form(clock=False, year=draw.rng.random() < 0.3)
    when = when_text(day, form)
    text = draw.pick((
        f"The deadline to {task.verb} {task.obj} ended {when}.",
        f"{task.was_due} due {when}.",
        f"The {when} deadline to {task.verb} {task.obj} has passed.",
        f"The deadline to {task.verb} {task.obj} was {when}.",
    ))
    text += " If your LEA has not done so, please contact CalTAC."
    fact = Fact(text, task.topic, text, "", when, deadline(day))
    return fact, ("prose", "list", "heading")


POSITIVE: dict[str, Maker] = {
    "due_marker": due_marker, "closes": closes, "recommendation": recommendation, "moved": moved,
    "passive": passive, "label_line": label_line, "heading_date": heading_date,
    "respond_before": respond_before, "downtime": downtime, "designation": designation,
    "credential": credential, "retention": retention, "past_tense": past_tense,
}

# ----------------------------------------------------------------------------- negatives
# Each draws one sentence that carries a date but no fact.


def _any_form(draw: Draw) -> DateForm:
    return draw.form(clock=False)


def _window(draw: Draw, sent: datetime, shortest: int, longest: int) -> tuple[date, date, DateForm]:
    """An activity's window ahead of the sent date: (opens, closes, how its dates are written)."""
    opens = draw.ahead(sent, 5, 60)
    return opens, opens + timedelta(days=draw.rng.randint(shortest, longest)), _any_form(draw)


def neg_testing_window(draw: Draw, sent: datetime) -> str:
    program = draw.pick(("Summative ELPAC", "CAASPP summative", "Smarter Balanced", "CAST"))
    a, b, form = _window(draw, sent, 30, 120)
    return draw.pick((
        f"The {program} testing window opens {when_text(a, form)}.",
        f"The {program} testing window closes {when_text(b, form)}.",
        f"The {program} testing window is open from {when_text(a, form)} through {when_text(b, form)}.",
        f"Testing for the {program} assessments may begin on {when_text(a, form)}.",
        f"Your LEA's selected {program} testing window ends {when_text(b, form)}.",
    ))


def neg_ordering(draw: Draw, sent: datetime) -> str:
    a, b, form = _window(draw, sent, 14, 90)
    return draw.pick((
        f"The ordering window for supplemental test materials closes {when_text(b, form)}.",
        (f"LEAs can place orders for primary test materials in TOMS from {when_text(a, form)} "
        f"through {when_text(b, form)}."),
        f"Supplemental orders for paper-pencil test materials may be placed through {when_text(b, form)}.",
        f"The window to order braille and large-print test materials opens {when_text(a, form)}.",
    ))


def neg_release(draw: Draw, sent: datetime) -> str:
    a, form = draw.ahead(sent, 5, 120), _any_form(draw)
    return draw.pick((
        f"Preliminary Summative ELPAC results will be available in TOMS on {when_text(a, form)}.",
        f"Student Score Reports will be released to LEAs beginning {when_text(a, form)}.",
        f"CERS will display the new results starting {when_text(a, form)}.",
        f"The CDE will publicly release statewide CAASPP results on {when_text(a, form)}.",
    ))


def neg_training(draw: Draw, sent: datetime) -> str:
    a = draw.ahead(sent, 5, 90)
    form = draw.form(clock=False)
    return draw.pick((
        (f"Join us for the Summative ELPAC Administration Coordinator webcast on {when_text(a, form)}, "
        f"from 1 to 3 p.m."),
        f"CalTAC will hold virtual office hours on {when_text(a, form)}, from 3 to 4 p.m.",
        f"The Interim Assessments Hand Scoring training will be held on {when_text(a, form)}.",
        f"A recording of the {when_text(a, form)} webcast will be posted to the website.",
        f"The Post-Test Workshop, a free training for LEA coordinators, takes place {when_text(a, form)}.",
    ))


def neg_eligibility(draw: Draw, sent: datetime) -> str:
    year = sent.year + draw.pick((0, 1))
    return draw.pick((
        (f"Students who will be five years old on or before September 1, {year}, take the kindergarten form "
        f"of the Initial ELPAC."),
        "Students who turn five on or before September 1 are eligible for transitional kindergarten testing.",
        (f"Students who first enrolled in a U.S. school on or after July 1, {year - 1}, may be exempt from "
        f"the English language arts/literacy assessment."),
        f"A student who is 18 years old on or before December 2, {year}, may sign the form on their own behalf.",
    ))


def neg_legal(draw: Draw, sent: datetime) -> str:
    day = draw.before(sent, 200, 3000)
    return draw.pick((
        (f"As required by California Education Code Section 60640, as amended effective {day_text(day, weekday=False, year=True)}, "
        f"LEAs administer the assessments each year."),
        (f"California Code of Regulations, Title 5, Section 853, as amended on {day_text(day, weekday=False, year=True)}, "
        f"describes the coordinator's responsibilities."),
        (f"Assembly Bill {draw.rng.randint(100, 2999)} (Chapter {draw.rng.randint(10, 400)}, Statutes of {day.year}), "
        f"signed {day_text(day, weekday=False, year=True)}, added these requirements."),
    ))


def neg_history(draw: Draw, sent: datetime) -> str:
    day = draw.before(sent, 200, 2500)
    return draw.pick((
        f"In {day.year}, we moved the Summative ELPAC to an online format.",
        f"On {day_text(day, weekday=False, year=True)}, the CDE introduced the new Student Score Report.",
        f"Since {day_text(day, weekday=False, year=True)}, LEAs have used TOMS to manage test settings.",
        (f"Back on {day_text(day, weekday=True, year=True)}, more than three million students tested online "
        f"in a single week."),
    ))


def neg_open_downtime(draw: Draw, sent: datetime) -> str:
    a = draw.ahead(sent, 5, 90)
    form = draw.form(clock=True)
    systems = draw.pick(SYSTEMS)
    return sentence(draw.pick((
        f"{_cap(systems)} will be unavailable beginning {when_text(a, form)}",
        f"A system downtime for {systems} will begin {on_text(a, form)}",
        f"{_cap(systems)} will go offline starting {when_text(a, form)}",
    )))


def neg_relative_offset(draw: Draw, sent: datetime) -> str:
    task, a = draw.pick(TASKS), draw.ahead(sent, 30, 200)
    form = draw.form(clock=False)
    offset = draw.pick(("one week", "ten business days", "two weeks", "30 days"))
    return draw.pick((
        f"Please {task.verb} {task.obj} at least {offset} before {when_text(a, form)}.",
        f"LEAs must {task.verb} {task.obj} {offset} before the testing window closes on {when_text(a, form)}.",
        f"{task.passive} should be {task.participle} no later than {offset} before {when_text(a, form)}.",
    ))


def neg_weekday_contradiction(draw: Draw, sent: datetime) -> str:
    task, day = draw.pick(TASKS), draw.ahead(sent, 7, 240)
    year = draw.rng.random() < 0.5
    near = {_shifted(day, -1).weekday(), day.weekday(), _shifted(day, 1).weekday()}
    wrong = draw.pick([WEEKDAYS[i] for i in range(7) if i not in near])
    when = day_text(day, weekday=True, year=year, wrong_weekday=wrong)
    return draw.pick((
        f"LEAs must {task.verb} {task.obj} by {when}.",
        f"{task.is_due} due {when}.",
        f"Please {task.verb} {task.obj} no later than {when}.",
    ))


def _shifted(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # February 29
        return day.replace(year=day.year + years, day=28)


NEGATIVE: dict[str, Callable[[Draw, datetime], str]] = {
    "neg_testing_window": neg_testing_window, "neg_ordering": neg_ordering, "neg_release": neg_release,
    "neg_training": neg_training, "neg_eligibility": neg_eligibility, "neg_legal": neg_legal,
    "neg_history": neg_history, "neg_open_downtime": neg_open_downtime,
    "neg_relative_offset": neg_relative_offset, "neg_weekday_contradiction": neg_weekday_contradiction,
}
NEGATIVE_STRUCTURES = ("prose", "list", "heading")

# Events that carry a date in a label line or a table cell, as deadlines do, but ask
# nothing of the LEA by it: (event, what it is, labels its date may have).
EVENTS = (
    ("Summative ELPAC Administration Coordinator Webcast",
     "Join CalTAC for an overview of this year's administration.", ("Date", "Webcast date")),
    ("CalTAC Office Hours", "CalTAC staff will answer questions about test settings.", ("Date", "When")),
    ("Preliminary Results in TOMS",
     "Preliminary results for the summative assessments will be available to LEA coordinators.",
     ("Available", "Release date")),
    ("Summative Testing Window", "Testing for the summative assessments opens for all LEAs.",
     ("Opens", "Window opens")),
    ("Supplemental Test Materials Orders", "LEAs can order supplemental paper-pencil test materials in TOMS.",
     ("Ordering closes", "Window closes")),
    ("Post-Test Workshop", "A free training for LEA coordinators on using assessment results.",
     ("Date", "Workshop date")),
)


def neg_labelled_event(draw: Draw, sent: datetime) -> Fact:
    """A webcast, release, testing or ordering window given as 'Label: date' or a table row."""
    event, about, labels = draw.pick(EVENTS)
    day, form = draw.ahead(sent, 5, 120), draw.form(clock=False)
    return Fact(about, event, about, draw.pick(labels), when_text(day, form), (), lead_in="Upcoming events:")

NEGATIVE_HEADINGS = ("Important Dates", "Upcoming Events", "Reminders", "Program Update")

# ----------------------------------------------------------------------------- variants

MFT_PER_FAMILY = 60
NEG_PER_FAMILY = 30
INVARIANCE_GROUPS = 4  # per positive family: one fact across its structures, one across deliveries


@dataclass
class _Counter:
    value: int = 0

    def next(self) -> int:
        self.value += 1
        return self.value


def _frame(draw: Draw, program: str) -> tuple[Block, Block, Block]:
    return (Block("para", draw.pick(GREETINGS).format(p=program)), Block("para", draw.pick(INTROS).format(p=program)),
            Block("para", draw.pick(CLOSINGS)))


def _variant(draw: Draw, family: str, check: str, sent: datetime, body: tuple[Block, ...], focus: str,
             expected: tuple[Expected, ...], structure: str, delivery: str, topic: str, number: int,
             group: str | None = None) -> Variant:
    program = draw.pick(PROGRAMS)
    greeting, intro, closing = _frame(draw, program)
    return Variant(family=family, check=check, structure=structure, delivery=delivery, sent=sent, focus=focus,
                   blocks=(greeting, intro, *body, closing), expected=expected,
                   subject=f"{program}: {topic}", program=program, group=group, number=number)


def _heading_over(fact: Fact) -> tuple[tuple[Block, ...], str]:
    return (Block("heading", fact.topic), Block("para", fact.sentence)), f"{fact.topic} / {fact.sentence}"


def _placed(fact: Fact, structure: str, draw: Draw) -> tuple[tuple[Block, ...], str]:
    return _heading_over(fact) if structure == "heading_over" else place(fact, structure, draw)


def positive_variants(family: str, maker: Maker, rng: random.Random, counter: _Counter) -> Iterator[Variant]:
    draw = Draw(rng)
    for _ in range(MFT_PER_FAMILY):
        sent = draw.sent()
        fact, structures = maker(draw, sent)
        structure, delivery = draw.pick(structures), draw.pick(DELIVERIES)
        body, focus = _placed(fact, structure, draw)
        yield _variant(draw, family, "mft", sent, body, focus, fact.expected, structure, delivery,
                       "Reminders and Updates", counter.next())
    for g in range(INVARIANCE_GROUPS):
        sent = draw.sent()
        fact, structures = maker(draw, sent)
        group = f"{family}/{g}"
        renderings = ([(s, "plain") for s in structures] if g % 2 == 0 and len(structures) > 1
                      else [(structures[0], d) for d in DELIVERIES])
        frame_seed = rng.randrange(1 << 30)
        for structure, delivery in renderings:
            same = Draw(random.Random(frame_seed))  # the same filler and frame in every rendering
            body, focus = _placed(fact, structure, same)
            yield _variant(same, family, "inv", sent, body, focus, fact.expected, structure, delivery,
                           "Reminders and Updates", counter.next(), group)


def negative_variants(family: str, maker: Callable[[Draw, datetime], str], rng: random.Random,
                      counter: _Counter) -> Iterator[Variant]:
    draw = Draw(rng)
    for _ in range(NEG_PER_FAMILY):
        sent = draw.sent()
        sentence = maker(draw, sent)
        structure, delivery = draw.pick(NEGATIVE_STRUCTURES), draw.pick(DELIVERIES)
        filler = draw.pick(FILLER)
        if structure == "prose":
            body: tuple[Block, ...] = (Block("para", f"{sentence} {filler}"),)
        elif structure == "list":
            body = (Block("para", "Please note the following:"), Block("list", items=(sentence, draw.pick(FILLER_ITEMS))))
        else:
            body = (Block("heading", draw.pick(NEGATIVE_HEADINGS)), Block("para", f"{sentence} {filler}"))
        yield _variant(draw, family, "neg", sent, body, sentence, (), structure, delivery, "Program Update",
                       counter.next())


def generate(seed: int = SEED) -> list[Variant]:
    """Every variant, the same list for the same seed."""
    rng = random.Random(seed)
    counter = _Counter()
    out: list[Variant] = []
    for family, maker in POSITIVE.items():
        out.extend(positive_variants(family, maker, random.Random(rng.randrange(1 << 30)), counter))
    for family, negative in NEGATIVE.items():
        out.extend(negative_variants(family, negative, random.Random(rng.randrange(1 << 30)), counter))
    out.extend(labelled_negative_variants(random.Random(rng.randrange(1 << 30)), counter))
    return out


def labelled_negative_variants(rng: random.Random, counter: _Counter) -> Iterator[Variant]:
    draw = Draw(rng)
    for _ in range(NEG_PER_FAMILY):
        sent = draw.sent()
        event = neg_labelled_event(draw, sent)
        structure, delivery = draw.pick(("label", "table")), draw.pick(DELIVERIES)
        body, focus = place(event, structure, draw)
        yield _variant(draw, "neg_labelled_event", "neg", sent, body, focus, (), structure, delivery,
                       "Upcoming Events", counter.next())


FAMILIES: tuple[str, ...] = (*POSITIVE, *NEGATIVE, "neg_labelled_event")

# ----------------------------------------------------------------------------- RFC 5322


def _plain(blocks: Sequence[Block], bullet: str) -> str:
    parts = []
    for block in blocks:
        if block.kind in ("heading", "para"):
            parts.append(block.text)
        elif block.kind == "list":
            parts.append("\n".join(f"{bullet} {item}" for item in block.items))
        elif block.kind == "table":
            parts.append("\n".join("\t".join(row) for row in block.rows))
    return "\n\n".join(parts) + "\n"


def _html(blocks: Sequence[Block], heading_tag: str) -> str:
    parts = []
    for block in blocks:
        if block.kind == "heading":
            parts.append(f"<h2>{escape(block.text)}</h2>" if heading_tag == "h2"
                         else f"<p><strong>{escape(block.text)}</strong></p>")
        elif block.kind == "para":
            parts.append(f'<p style="font-family:Calibri,Arial">{escape(block.text)}</p>')
        elif block.kind == "list":
            parts.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in block.items) + "</ul>")
        elif block.kind == "table":
            header, *rows = block.rows
            parts.append('<table border="1" cellpadding="4"><tr>' + "".join(f"<th>{escape(c)}</th>" for c in header)
                         + "</tr>" + "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                                             for row in rows) + "</table>")
    return "\n".join(parts)


def _outlook_sent(when: datetime) -> str:
    hour = when.hour % 12 or 12
    return (f"{WEEKDAYS[when.weekday()]}, {MONTHS[when.month - 1]} {when.day}, {when.year} "
            f"{hour}:{when.minute:02d} {'AM' if when.hour < 12 else 'PM'}")


def _gmail_date(when: datetime) -> str:
    hour = when.hour % 12 or 12
    return (f"{WEEKDAYS[when.weekday()][:3]}, {MONTHS[when.month - 1][:3]} {when.day}, {when.year} at "
            f"{hour}:{when.minute:02d} {'AM' if when.hour < 12 else 'PM'}")


QP = "quoted-printable"
NOTICE_FROM = ("CalTAC", "caltac@ets.org")
COORDINATOR = "LEA Coordinator <coordinator@district.k12.ca.us>"
COLLEAGUE = ("Dana Whitfield", "dwhitfield@district.k12.ca.us")


def build_message(variant: Variant) -> bytes:
    """The variant as an RFC 5322 message, delivered as its `delivery` says. (The compat32
    policy keeps the plain ASCII headers as given instead of parsing each one: three times
    faster, and the same bytes.)"""
    msg = EmailMessage(policy=compat32)
    notice_sender = f"{NOTICE_FROM[0]} <{NOTICE_FROM[1]}>"
    msg["To"] = COORDINATOR
    msg["Message-ID"] = f"<behaviour-{variant.number}@example.test>"
    if variant.delivery in ("plain", "html"):
        msg["From"] = notice_sender
        msg["Subject"] = variant.subject
        msg["Date"] = format_datetime(variant.sent)
        if variant.delivery == "plain":
            msg.set_content(_plain(variant.blocks, "-"), cte=QP, content_manager=raw_data_manager)
        else:
            msg.set_content(f"<html><body>{_html(variant.blocks, 'h2')}</body></html>", subtype="html",
                            cte=QP, content_manager=raw_data_manager)
        return bytes(msg)
    forwarded_at = variant.sent + timedelta(hours=2 + variant.number % 20)
    comment = COMMENTS[variant.number % len(COMMENTS)]
    msg["From"] = f"{COLLEAGUE[0]} <{COLLEAGUE[1]}>"
    msg["Subject"] = f"FW: {variant.subject}" if variant.delivery == "outlook" else f"Fwd: {variant.subject}"
    msg["Date"] = format_datetime(forwarded_at)
    if variant.delivery == "outlook":
        header = (f"From: {NOTICE_FROM[0]} <{NOTICE_FROM[1]}>\nSent: {_outlook_sent(variant.sent)}\n"
                  f"To: {COORDINATOR}\nSubject: {variant.subject}")
        plain = f"{comment}\n\n________________________________\n{header}\n\n{_plain(variant.blocks, '•')}"
        html_header = "<br>".join(escape(line) for line in header.split("\n"))
        html = (f"<html><body><p>{escape(comment)}</p><hr><div id=\"divRplyFwdMsg\">{html_header}</div>"
                f"{_html(variant.blocks, 'strong')}</body></html>")
        msg.set_content(plain, cte=QP, content_manager=raw_data_manager)
        msg.add_alternative(html, subtype="html", cte=QP, content_manager=raw_data_manager)
        msg.set_boundary(f"==behaviour-{variant.number}==")  # the same bytes in every run
        return bytes(msg)
    header = (f"---------- Forwarded message ---------\nFrom: {NOTICE_FROM[0]} <{NOTICE_FROM[1]}>\n"
              f"Date: {_gmail_date(variant.sent)}\nSubject: {variant.subject}\nTo: {COORDINATOR}")
    html_header = "<br>".join(escape(line) for line in header.split("\n"))
    html = (f"<html><body><div dir=\"ltr\">{escape(comment)}<br><br><div class=\"gmail_quote\">"
            f"<div dir=\"ltr\" class=\"gmail_attr\">{html_header}<br></div><br>{_html(variant.blocks, 'h2')}"
            f"</div></div></body></html>")
    msg.set_content(html, subtype="html", cte=QP, content_manager=raw_data_manager)
    return bytes(msg)


__all__ = ["DELIVERIES", "FAMILIES", "KEYS", "SEED", "STRUCTURES", "Expected", "Variant", "generate"]
