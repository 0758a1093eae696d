/**
 * The answer to a CALDAV:free-busy-query (RFC 4791 §7.10): the busy time of a calendar's events
 * and VFREEBUSY components within a range, as one VFREEBUSY in UTC.
 */
import { foldLine } from '../../store/index.js';
import { visitInstances, type CalendarObject, type CalendarTimezone, type Component } from './calendar-object.js';

export interface FreeBusyOptions {
  /** The calendar-timezone floating times are read in (UTC when undefined). */
  timezone?: CalendarTimezone;
  /** DTSTAMP. */
  now?: Date;
}

/**
 * One VCALENDAR holding a VFREEBUSY for [start, end): FREEBUSY periods per FBTYPE, merged where
 * they overlap or touch, each clipped to the range. Events marked TRANSP:TRANSPARENT or
 * STATUS:CANCELLED are free time; STATUS:TENTATIVE is BUSY-TENTATIVE. CRLF line ends.
 * A recurrence whose expansion stops at its bounds (see visitInstances) adds what it reached.
 */
export function freeBusyReport(objects: Iterable<CalendarObject>, start: Date, end: Date, options: FreeBusyOptions = {}): string {
  const from = start.getTime();
  const to = end.getTime();
  const busy = new Map<string, [number, number][]>();
  /** Zero-length instances add nothing. */
  const add = (type: string, a: number, b: number) => {
    const clipped: [number, number] = [Math.max(a, from), Math.min(b, to)];
    if (clipped[0] >= clipped[1]) return;
    const spans = busy.get(type);
    if (spans === undefined) busy.set(type, [clipped]);
    else spans.push(clipped);
  };
  for (const object of objects) {
    for (const component of object.calendar.components) {
      if (component.name === 'VEVENT') {
        const type = eventBusyType(component);
        if (type === undefined) continue;
        visitInstances(component, options.timezone, from, to, (a, b) => {
          add(type, a, b);
          return false;
        });
      } else if (component.name === 'VFREEBUSY') {
        for (const period of component.span?.busy ?? []) add(fbtype(period.type), period.start, period.end);
      }
    }
  }
  const periods = [...busy].flatMap(([type, spans]) => merge(spans).map(([a, b]) => ({ type, a, b })));
  periods.sort((x, y) => x.a - y.a || x.b - y.b || x.type.localeCompare(y.type));
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Nymote//CalDAV//EN',
    'BEGIN:VFREEBUSY',
    `DTSTAMP:${utcText((options.now ?? new Date()).getTime())}`,
    `DTSTART:${utcText(from)}`,
    `DTEND:${utcText(to)}`,
    ...periods.map((p) => foldLine(`FREEBUSY;FBTYPE=${p.type}:${utcText(p.a)}/${utcText(p.b)}`)),
    'END:VFREEBUSY',
    'END:VCALENDAR',
  ];
  return lines.join('\r\n') + '\r\n';
}

/** The FBTYPE an event's time counts as, or undefined when it leaves the time free. */
function eventBusyType(event: Component): string | undefined {
  const value = (name: string) => event.properties.find((p) => p.name === name)?.value.toUpperCase();
  if (value('TRANSP') === 'TRANSPARENT') return undefined;
  const status = value('STATUS');
  if (status === 'CANCELLED') return undefined;
  return status === 'TENTATIVE' ? 'BUSY-TENTATIVE' : 'BUSY';
}

/** A stored FBTYPE as it may be written back: a token (iana or x-name), else BUSY (RFC 5545 §3.2.9). */
function fbtype(type: string): string {
  return /^[A-Z0-9-]+$/.test(type) ? type : 'BUSY';
}

/** Sorted, with overlapping and touching spans joined. */
function merge(spans: [number, number][]): [number, number][] {
  spans.sort((x, y) => x[0] - y[0]);
  const merged: [number, number][] = [];
  for (const [a, b] of spans) {
    const last = merged.at(-1);
    if (last !== undefined && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

function utcText(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}/, '').replace(/[-:]/g, '');
}
