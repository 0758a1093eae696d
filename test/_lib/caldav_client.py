#!/usr/bin/python3
"""Drives a CalDAV server with python3-caldav (Debian's 0.11) and prints what it saw as JSON.

Usage: caldav_client.py URL USER PASSWORD

Each step is recorded under its name in the printed object, as its result or as
{"error": "..."} when the library raised; the TypeScript test asserts on the values, so
nothing here decides pass or fail. Dates are fixed (January-March 2030), all in UTC.
"""
import json
import re
import sys
import traceback
from datetime import datetime, timezone

import caldav

URL, USER, PASSWORD = sys.argv[1], sys.argv[2], sys.argv[3]


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def vcal(body):
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//nymote test//caldav_client//EN\r\n" + body + "END:VCALENDAR\r\n"


# Mondays 7, 14, 21 and 28 January 2030 at 09:00Z; the 14th is excluded.
WEEKLY = vcal(
    "BEGIN:VEVENT\r\nUID:weekly-standup@nymote.test\r\nDTSTAMP:20300101T000000Z\r\n"
    "DTSTART:20300107T090000Z\r\nDURATION:PT30M\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\n"
    "EXDATE:20300114T090000Z\r\nSUMMARY:Weekly standup\r\nEND:VEVENT\r\n"
)
ALLDAY = vcal(
    "BEGIN:VEVENT\r\nUID:holiday@nymote.test\r\nDTSTAMP:20300101T000000Z\r\n"
    "DTSTART;VALUE=DATE:20300110\r\nDTEND;VALUE=DATE:20300111\r\nSUMMARY:Holiday\r\nEND:VEVENT\r\n"
)
MARCH = vcal(
    "BEGIN:VEVENT\r\nUID:march-review@nymote.test\r\nDTSTAMP:20300101T000000Z\r\n"
    "DTSTART:20300315T140000Z\r\nDTEND:20300315T150000Z\r\nSUMMARY:March review\r\nEND:VEVENT\r\n"
)
TODO = vcal(
    "BEGIN:VTODO\r\nUID:taxes@nymote.test\r\nDTSTAMP:20300101T000000Z\r\n"
    "DUE:20300120T170000Z\r\nSUMMARY:File taxes\r\nSTATUS:NEEDS-ACTION\r\nEND:VTODO\r\n"
)

# name -> (start, end, expected summaries)
RANGES = {
    "january": (utc(2030, 1, 1), utc(2030, 2, 1)),
    # Only the EXDATE'd instance (14 January) falls in here.
    "excluded_instance_only": (utc(2030, 1, 13), utc(2030, 1, 15)),
    # The instance of 21 January.
    "third_instance": (utc(2030, 1, 20), utc(2030, 1, 22)),
    # The all-day event, well inside its day whatever zone a floating date is read in.
    "holiday_noon": (utc(2030, 1, 10, 10), utc(2030, 1, 10, 14)),
    # After the last instance (COUNT=4 ends on 28 January).
    "february": (utc(2030, 2, 1), utc(2030, 3, 1)),
    "march": (utc(2030, 3, 1), utc(2030, 4, 1)),
}

out = {}


def step(name):
    def wrap(fn):
        try:
            out[name] = fn()
        except Exception as err:  # recorded for the test to report, not hidden
            out[name] = {"error": f"{type(err).__name__}: {err}", "trace": traceback.format_exc()[-1500:]}
        return fn
    return wrap


def summaries(objects):
    names = []
    for o in objects:
        for comp in o.icalendar_instance.walk():
            if comp.name in ("VEVENT", "VTODO") and comp.get("summary") is not None:
                names.append(str(comp.get("summary")))
    return sorted(names)


client = caldav.DAVClient(URL, username=USER, password=PASSWORD)
state = {}


@step("principal")
def _():
    state["principal"] = client.principal()
    return {"url": str(state["principal"].url), "home": str(state["principal"].calendar_home_set.url)}


@step("make_calendar")
def _():
    cal = state["principal"].make_calendar(name="Work 2030")
    state["cal"] = cal
    listed = {str(c.url): c.get_display_name() for c in state["principal"].calendars()}
    return {"url": str(cal.url), "listed": listed.get(str(cal.url)), "calendars": sorted(str(v) for v in listed.values())}


@step("save")
def _():
    cal = state["cal"]
    saved = {}
    for key, ics, fn in (("weekly", WEEKLY, cal.save_event), ("allday", ALLDAY, cal.save_event), ("march", MARCH, cal.save_event), ("todo", TODO, cal.save_todo)):
        obj = fn(ics)
        state[key] = obj
        saved[key] = str(obj.url)
    return saved


@step("events")
def _():
    return summaries(state["cal"].events())


@step("date_search")
def _():
    return {name: summaries(state["cal"].date_search(start, end, expand=False)) for name, (start, end) in RANGES.items()}


@step("search")
def _():
    return {name: summaries(state["cal"].search(start=start, end=end, event=True)) for name, (start, end) in RANGES.items()}


@step("search_expand")
def _():
    # The library expands client-side when the server sent the master with its RRULE back;
    # what the server itself returned is reported beside the instances.
    result = {}
    for name, (start, end) in RANGES.items():
        xml, _cls = state["cal"].build_search_xml_query(event=True, start=start, end=end, expand=True)
        raw = state["cal"]._request_report_build_resultlist(xml, caldav.Event)[1]
        found = state["cal"].search(start=start, end=end, event=True, expand=True)
        starts = []
        for o in found:
            for comp in o.icalendar_instance.walk("VEVENT"):
                starts.append(comp.decoded("dtstart").isoformat())
        result[name] = {
            "instances": sorted(starts),
            "server_sent_rrule": any("RRULE" in (o.data or "") for o in raw),
            "server_recurrence_ids": sum((o.data or "").count("RECURRENCE-ID") for o in raw),
        }
    return result


@step("todos")
def _():
    todos = state["cal"].todos()
    return {"summaries": summaries(todos), "due": [str(t.icalendar_instance.walk("VTODO")[0].get("due").dt.isoformat()) for t in todos]}


@step("todo_search")
def _():
    return {
        "due_in_range": summaries(state["cal"].search(todo=True, start=utc(2030, 1, 19), end=utc(2030, 1, 21))),
        "due_out_of_range": summaries(state["cal"].search(todo=True, start=utc(2030, 2, 1), end=utc(2030, 3, 1))),
    }


@step("load")
def _():
    obj = caldav.Event(client, url=state["weekly"].url, parent=state["cal"])
    obj.load()
    return {"has_uid": "UID:weekly-standup@nymote.test" in obj.data, "has_rrule": "RRULE:FREQ=WEEKLY;COUNT=4" in obj.data, "summary": summaries([obj])}


@step("by_uid")
def _():
    return summaries([state["cal"].event_by_uid("march-review@nymote.test")])


@step("freebusy")
def _():
    fb = state["cal"].freebusy_request(utc(2030, 1, 1), utc(2030, 2, 1))
    raw = fb.data or ""
    unfolded = re.sub(r"\r?\n[ \t]", "", raw)
    periods = []
    for line in unfolded.splitlines():
        m = re.match(r"FREEBUSY(;[^:]*)?:(.*)$", line)
        if not m:
            continue
        fbtype = re.search(r"FBTYPE=([A-Z-]+)", m.group(1) or "")
        for period in m.group(2).split(","):
            periods.append({"fbtype": fbtype.group(1) if fbtype else "BUSY", "period": period.strip()})
    return {"periods": sorted(periods, key=lambda p: p["period"]), "raw": raw}


BERLIN = vcal(
    "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n"
    "BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
    "BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\n"
    "END:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:berlin@nymote.test\r\nDTSTAMP:20300101T000000Z\r\n"
    "DTSTART;TZID=Europe/Berlin:20300701T100000\r\nDTEND;TZID=Europe/Berlin:20300701T110000\r\nSUMMARY:Berlin summer\r\nEND:VEVENT\r\n"
)


@step("sync_token")
def _():
    # sync-collection (RFC 6578): the changes since a token, then a delete shows as a gone href.
    cal = state["cal"]
    first = cal.objects_by_sync_token(load_objects=True)
    berlin = cal.save_event(BERLIN)
    second = cal.objects_by_sync_token(sync_token=first.sync_token, load_objects=True)
    berlin.delete()
    third = cal.objects_by_sync_token(sync_token=second.sync_token)
    name = lambda o: str(o.url).rsplit("/", 1)[1]
    return {
        "initial": sorted(name(o) for o in first),
        "after_save": sorted(name(o) for o in second),
        "after_delete": sorted(name(o) for o in third),
        "tokens_differ": len({first.sync_token, second.sync_token, third.sync_token}) == 3,
    }


@step("timezone")
def _():
    # 10:00 Europe/Berlin in July is 08:00Z.
    cal = state["cal"]
    berlin = cal.save_event(BERLIN)
    result = {
        "at_0830z": summaries(cal.search(start=utc(2030, 7, 1, 8, 30), end=utc(2030, 7, 1, 8, 45), event=True)),
        "at_1000z": summaries(cal.search(start=utc(2030, 7, 1, 9, 0), end=utc(2030, 7, 1, 10, 0), event=True)),
    }
    berlin.delete()
    return result


@step("delete")
def _():
    state["march"].delete()
    after = summaries(state["cal"].search(start=utc(2030, 3, 1), end=utc(2030, 4, 1), event=True))
    try:
        gone = caldav.Event(client, url=state["march"].url, parent=state["cal"])
        gone.load()
        load_after = "loaded"
    except caldav.lib.error.NotFoundError:
        load_after = "NotFoundError"
    except Exception as err:
        load_after = f"{type(err).__name__}: {err}"
    return {"march_after": after, "load_after": load_after, "events": summaries(state["cal"].events())}


@step("delete_calendar")
def _():
    url = str(state["cal"].url)
    state["cal"].delete()
    return {"listed": url in [str(c.url) for c in state["principal"].calendars()]}


print(json.dumps(out, indent=1, default=str))
