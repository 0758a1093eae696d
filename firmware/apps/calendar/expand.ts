/**
 * calendar-data with CALDAV:expand (RFC 4791 §9.6.5): each instance of a recurring object
 * within the range becomes its own component with a RECURRENCE-ID, times in UTC, and no
 * RRULE, RDATE or EXDATE; overridden instances come from their override. Done with ical.js,
 * which knows the recurrence rules and the object's VTIMEZONEs.
 */
import ICAL from 'ical.js';
import { MAX_INSTANCES } from './calendar-object.js';

const RULE_PROPERTIES = ['rrule', 'rdate', 'exdate', 'exrule'];
const UTC = ICAL.Timezone.utcTimezone;

/** The object with its instances in [start, end) expanded; undefined when it does not parse. */
export function expandCalendarData(text: string, start: Date, end: Date): string | undefined {
  let calendar: ICAL.Component;
  try {
    calendar = new ICAL.Component(ICAL.parse(text) as unknown[]);
  } catch {
    return undefined;
  }
  const from = ICAL.Time.fromJSDate(start, true);
  const to = ICAL.Time.fromJSDate(end, true);
  const out = new ICAL.Component('vcalendar');
  for (const name of ['version', 'prodid', 'calscale']) {
    const property = calendar.getFirstProperty(name);
    if (property !== null) out.addProperty(ICAL.Property.fromString(property.toICALString()));
  }
  const components = calendar.getAllSubcomponents().filter((c) => c.name !== 'vtimezone');
  const overrides = components.filter((c) => c.hasProperty('recurrence-id'));
  for (const master of components.filter((c) => !c.hasProperty('recurrence-id'))) {
    const event = new ICAL.Event(master, { exceptions: overrides.filter((o) => o.getFirstPropertyValue('uid') === master.getFirstPropertyValue('uid')) });
    if (!event.isRecurring()) {
      out.addSubcomponent(inUtc(copyOf(master), undefined));
      continue;
    }
    const instances = event.iterator();
    for (let count = 0, next = instances.next(); next !== undefined && next !== null && count < MAX_INSTANCES; next = instances.next(), count++) {
      if (next.compare(to) >= 0) break;
      const details = event.getOccurrenceDetails(next);
      if (details.endDate.compare(from) <= 0 && !(details.endDate.compare(details.startDate) === 0 && details.startDate.compare(from) >= 0)) continue;
      const instance = copyOf(details.item.component);
      // The iterator reuses its time objects: each instance gets copies.
      instance.updatePropertyWithValue('dtstart', details.startDate.clone());
      if (instance.hasProperty('dtend')) instance.updatePropertyWithValue('dtend', details.endDate.clone());
      out.addSubcomponent(inUtc(instance, details.recurrenceId.clone()));
    }
  }
  return out.toString().replace(/\r?\n/g, '\r\n') + '\r\n';
}

/** A deep copy: a component wraps its jCal arrays, which toJSON hands out as they are. */
function copyOf(component: ICAL.Component): ICAL.Component {
  return new ICAL.Component(structuredClone(component.toJSON()));
}

/** Times in UTC (all-day dates stay dates), rules dropped, the instance's RECURRENCE-ID set. */
function inUtc(component: ICAL.Component, recurrenceId: ICAL.Time | undefined): ICAL.Component {
  for (const name of RULE_PROPERTIES) component.removeAllProperties(name);
  if (recurrenceId !== undefined) component.updatePropertyWithValue('recurrence-id', recurrenceId);
  for (const name of ['dtstart', 'dtend', 'due', 'recurrence-id']) {
    const property = component.getFirstProperty(name);
    const value = property?.getFirstValue();
    if (property === null || !(value instanceof ICAL.Time) || value.isDate) continue;
    property.removeParameter('tzid');
    property.setValue(value.convertToZone(UTC));
  }
  return component;
}
