"""The scenario harness every day's and project's checks are built on.

One piece per module, in the shape of TigerBeetle's ``src/testing``:

- :mod:`.streams`: seeded random streams, one per purpose;
- :mod:`.scenario`: a scenario (name, seed, cases) and the run that checks each case;
- :mod:`.shrink`: from a failing case to the smallest one that still fails (Hypothesis,
  derandomized);
- :mod:`.clock`: running ``async`` code on a virtual clock, with a real-time guard;
- :mod:`.faults`: crash, drop, delay, duplicate, reorder;
- :mod:`.network`: emulated peers and the mailbox of the agent under test, with those faults;
- :mod:`.messages`: the message log (text for the learner, arrows for the diagram);
- :mod:`.result`: :class:`CheckResult`, what the learner sees.

A day's checks (``course/checks/day1/``) or a project's (``course/checks/project1/``) define
their cases and peers on top of these, one module per question.
"""
from course.checks.harness.clock import (
    DEFAULT_REAL_TIMEOUT,
    DEFAULT_VIRTUAL_DEADLINE,
    RealTimeExceeded,
    VirtualDeadlineExceeded,
    run_on_virtual_clock,
)
from course.checks.harness.faults import Crash, Delay, Drop, Duplicate, Fault, Reorder
from course.checks.harness.messages import LOG_HEADER, LoggedMessage, MessageLog, parse_log
from course.checks.harness.network import Mailbox, Network, Peer, Reply, describe_message
from course.checks.harness.result import CheckResult
from course.checks.harness.cases import Case, CaseFailed, describe_exception, run_case
from course.checks.harness.scenario import Scenario
from course.checks.harness.shrink import Shrunk, smallest_failing
from course.checks.harness.streams import Streams, random_stream

__all__ = [
    "DEFAULT_REAL_TIMEOUT", "DEFAULT_VIRTUAL_DEADLINE", "RealTimeExceeded", "VirtualDeadlineExceeded",
    "run_on_virtual_clock", "Crash", "Delay", "Drop", "Duplicate", "Fault", "Reorder", "LOG_HEADER",
    "LoggedMessage", "MessageLog", "parse_log", "Mailbox", "Network", "Peer", "Reply", "describe_message",
    "CheckResult", "Case", "CaseFailed", "Scenario", "describe_exception", "run_case", "Shrunk", "smallest_failing",
    "Streams", "random_stream",
]
