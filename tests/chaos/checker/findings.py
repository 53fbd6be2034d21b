"""What a check found: a violation (a broken guarantee: the run fails) or a warning (worth a look,
the run does not fail on it)."""

from dataclasses import dataclass, field

VIOLATION = "violation"
WARNING = "warning"

# Violation classes, in the order the report lists them.
AGREEMENT = "agreement"              # one view id, two contents (or one member id, two identities)
ORDER = "order"                      # a gap or a view id not increasing within one session
LEADER = "leader"                    # the view's leader is not its lowest member id
FENCING = "fencing"                  # a fencing token going down, changing, or not the takeover view
DURABILITY = "durability"            # a view lost or changed across a full restart
LIVENESS = "liveness"                # a live member not back in the views within the heal bound
FALSE_REMOVAL = "false removal"      # a live, reachable member removed as suspected
LEFT = "left without leave"          # removed as "left" though nothing made it leave
EVENT = "event"                      # a removed/rejoined event that contradicts the views
ELECTION = "election safety"         # two leaders in one term

# Warning classes.
INPUT = "input"                              # a line or file that could not be read
EVENT_BEFORE_VIEW = "event before view"      # an event delivered before the view it names
EVENT_WITHOUT_VIEW = "event without view"    # an event whose view the observer never delivered
STARVED_REMOVAL = "removal under starvation" # a removal only CPU starvation explains
NOT_JUDGED = "heal not judged"               # the next step began before the heal bound ran out
LEADERLESS = "no leader over 1 s"            # no consensus leader for longer than the aim
UNKNOWN = "unknown"                          # something the checker could not place (no time, no name)

VIOLATION_ORDER = [AGREEMENT, ORDER, LEADER, FENCING, DURABILITY, ELECTION, EVENT, LEFT,
                   FALSE_REMOVAL, LIVENESS]


@dataclass
class Finding:
    cls: str
    severity: str
    t: float | None            # absolute time (seconds since the epoch), None if unknown
    message: str
    observer: str | None = None  # the observer (or "final/v1", "leaders.jsonl", ...) it was seen at
    view_id: int | None = None
    node: str | None = None
    details: dict = field(default_factory=dict)


def violation(cls, t, message, **kw):
    return Finding(cls, VIOLATION, t, message, **kw)


def warning(cls, t, message, **kw):
    return Finding(cls, WARNING, t, message, **kw)
