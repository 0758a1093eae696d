/**
 * The calendar: a month grid or a week of columns, and one form to create and edit events.
 *
 *   #/calendar?view=month|week&date=YYYY-MM-DD   the month or week holding that date (default: today)
 *   #/calendar/new?date=YYYY-MM-DD               a new event on that day
 *   #/calendar/<cal>/<name>                      edit an event (a recurring one as a whole)
 *
 * The pages keep `view` and `date` in their links, so saving or going back returns to the same
 * place. Listed times are ISO instants, shown in the browser's zone; all-day events are dates,
 * and the form's End is the last day (the API's end is the day after, exclusive). The form's
 * times are wall clocks of a zone sent with them, so the server stores the event in that zone
 * and a weekly 09:00 stays at 09:00 across daylight-saving changes: the browser's zone for new
 * events, and an event's own zone when it has one (said under Start when it is another).
 */
import './calendar.css';
import { api, ApiError, segments } from '../api.js';
import { errorText, field, formValues, h, notice, replace } from '../dom.js';
import { href, type Page, type PageContext } from '../page.js';

interface CalendarInfo {
  name: string;
  displayName: string;
}

interface Instance {
  calendar: string;
  name: string;
  summary: string;
  start: string;
  end: string;
  allDay: boolean;
  recurring: boolean;
}

type Frequency = 'DAILY' | 'WEEKLY' | 'MONTHLY' | 'YEARLY';

interface Rule {
  freq: Frequency;
  interval: number;
  count?: number;
  until?: string;
}

interface EventDetails {
  calendar: string;
  name: string;
  summary: string;
  location: string;
  description: string;
  /** Wall clocks of `timezone` when the event has one, else ISO instants (or dates, all-day). */
  start: string;
  end: string;
  allDay: boolean;
  timezone?: string;
  rrule: Rule | null;
  etag: string;
}

/** What the API takes to create or replace an event. */
interface EventBody {
  summary: string;
  location: string;
  description: string;
  allDay: boolean;
  /** Timed: wall clocks of `timezone`, 'YYYY-MM-DDTHH:MM'. */
  start: string;
  end: string;
  timezone?: string;
  rrule: Rule | null;
}

type ViewMode = 'month' | 'week';

const REPEATS: readonly [Frequency | '', string][] = [
  ['', 'Never'],
  ['DAILY', 'Daily'],
  ['WEEKLY', 'Weekly'],
  ['MONTHLY', 'Monthly'],
  ['YEARLY', 'Yearly'],
];
const UNITS: Record<Frequency, string> = { DAILY: 'days', WEEKLY: 'weeks', MONTHLY: 'months', YEARLY: 'years' };
const DATE_KEY = /^\d{4}-\d{2}-\d{2}$/;
/** A datetime-local input's value. */
const WALL_CLOCK = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/** The label of the toolbar button to focus again once the page is drawn anew after it was pressed. */
let refocusAction: string | undefined;

// ---------------------------------------------------------------------------------------------
// Dates in the browser's zone

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** 'YYYY-MM-DD' of a local date. */
function dateKey(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** Local midnight of 'YYYY-MM-DD'; undefined unless it is a real date. */
function parseDateKey(text: string | null): Date | undefined {
  if (text === null || !DATE_KEY.test(text)) return undefined;
  const [year, month, day] = text.split('-').map(Number) as [number, number, number];
  const date = new Date(year, month - 1, day);
  return dateKey(date) === text ? date : undefined;
}

/** The IANA zone the browser shows times in. */
function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

function today(): Date {
  const now = new Date();
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}

function addDays(date: Date, days: number): Date {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate() + days);
}

/** Weeks start on Monday. */
function startOfWeek(date: Date): Date {
  return addDays(date, -((date.getDay() + 6) % 7));
}

/** The days of the month's grid: whole weeks from the one holding the 1st to the one holding the last. */
function monthDays(date: Date): Date[] {
  const first = startOfWeek(new Date(date.getFullYear(), date.getMonth(), 1));
  const last = new Date(date.getFullYear(), date.getMonth() + 1, 0);
  const days: Date[] = [];
  for (let day = first; day <= last || days.length % 7 !== 0; day = addDays(day, 1)) days.push(day);
  return days;
}

function weekDays(date: Date): Date[] {
  const first = startOfWeek(date);
  return Array.from({ length: 7 }, (_, i) => addDays(first, i));
}

/** A datetime-local input's value for an instant. */
function localInput(date: Date): string {
  return `${dateKey(date)}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

const weekdayShort = (date: Date) => date.toLocaleDateString(undefined, { weekday: 'short' });
const longDate = (date: Date) => date.toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
const timeOfDay = (iso: string) => new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

function periodTitle(mode: ViewMode, date: Date): string {
  if (mode === 'month') return date.toLocaleDateString(undefined, { month: 'long', year: 'numeric' });
  const [first, last] = [startOfWeek(date), addDays(startOfWeek(date), 6)];
  const format = (d: Date) => d.toLocaleDateString(undefined, { day: 'numeric', month: 'short', year: 'numeric' });
  return `${format(first)} – ${format(last)}`;
}

// ---------------------------------------------------------------------------------------------
// Month and week

interface ViewState {
  mode: ViewMode;
  date: Date;
}

function viewState(context: PageContext): ViewState {
  return { mode: context.query.get('view') === 'week' ? 'week' : 'month', date: parseDateKey(context.query.get('date')) ?? today() };
}

function viewQuery(state: ViewState): Record<string, string> {
  return { view: state.mode, date: dateKey(state.date) };
}

/** Whether an instance falls on a local day (an instant event at midnight counts for that day). */
function meetsDay(instance: Instance, day: Date): boolean {
  const key = dateKey(day);
  if (instance.allDay) return instance.start <= key && key < instance.end;
  const [start, end] = [Date.parse(instance.start), Date.parse(instance.end)];
  const [dayStart, dayEnd] = [day.getTime(), addDays(day, 1).getTime()];
  return start < dayEnd && (end > dayStart || (start === end && start >= dayStart));
}

function eventsByDay(instances: readonly Instance[], days: readonly Date[]): Map<string, Instance[]> {
  return new Map(days.map((day) => [dateKey(day), instances.filter((instance) => meetsDay(instance, day))]));
}

function eventLink(instance: Instance, state: ViewState, showEnd: boolean): HTMLElement {
  const title = instance.summary === '' ? '(no title)' : instance.summary;
  const time = instance.allDay ? 'All day' : showEnd ? `${timeOfDay(instance.start)}–${timeOfDay(instance.end)}` : timeOfDay(instance.start);
  return h(
    'a',
    { href: href('calendar', [instance.calendar, instance.name], viewQuery(state)), class: instance.allDay ? 'cal-event all-day' : 'cal-event', title },
    // A month's all-day chips are told apart by their fill; screen readers still hear "All day".
    h('span', { class: instance.allDay && !showEnd ? 'cal-time visually-hidden' : 'cal-time' }, time),
    ' ',
    title,
    instance.recurring && h('span', { class: 'visually-hidden' }, ' (repeats)'),
  );
}

function eventList(instances: readonly Instance[], state: ViewState, showEnd: boolean): HTMLElement | false {
  return instances.length > 0 && h('ul', { class: 'cal-events' }, instances.map((instance) => h('li', {}, eventLink(instance, state, showEnd))));
}

/** A day's heading inside its cell: a link to its week; the weekday shows where the column headers do not (phones). */
function dayHeading(day: Date, isToday: boolean): HTMLElement {
  return h(
    'div',
    { class: 'cal-day-head' },
    h('span', { class: 'cal-weekday' }, weekdayShort(day), ' '),
    h('a', { href: href('calendar', [], { view: 'week', date: dateKey(day) }), class: 'cal-date', 'aria-label': `${longDate(day)}${isToday ? ', today' : ''}` }, day.getDate()),
  );
}

function dayCell(day: Date, instances: readonly Instance[], state: ViewState, classes: string[]): HTMLElement {
  const isToday = dateKey(day) === dateKey(today());
  const classList = ['cal-day', ...classes, isToday && 'today', instances.length === 0 && 'empty'].filter(Boolean).join(' ');
  return h('td', { class: classList, 'aria-current': isToday ? 'date' : null }, dayHeading(day, isToday), eventList(instances, state, state.mode === 'week'));
}

function columnHeaders(days: readonly Date[], withDates: boolean): HTMLElement {
  return h(
    'thead',
    {},
    h(
      'tr',
      {},
      days.map((day) =>
        h('th', { scope: 'col', class: withDates && dateKey(day) === dateKey(today()) ? 'today' : null }, h('abbr', { title: day.toLocaleDateString(undefined, { weekday: 'long' }) }, weekdayShort(day)), withDates && ` ${day.getDate()}`),
      ),
    ),
  );
}

function monthTable(days: readonly Date[], placed: Map<string, Instance[]>, state: ViewState): HTMLElement {
  const weeks = Array.from({ length: days.length / 7 }, (_, i) => days.slice(i * 7, i * 7 + 7));
  const month = state.date.getMonth();
  return h(
    'table',
    { class: 'cal-grid cal-month' },
    h('caption', { class: 'visually-hidden' }, periodTitle('month', state.date)),
    columnHeaders(days.slice(0, 7), false),
    h('tbody', {}, weeks.map((week) => h('tr', {}, week.map((day) => dayCell(day, placed.get(dateKey(day))!, state, day.getMonth() === month ? [] : ['other-month']))))),
  );
}

function weekTable(days: readonly Date[], placed: Map<string, Instance[]>, state: ViewState): HTMLElement {
  return h(
    'table',
    { class: 'cal-grid cal-week' },
    h('caption', { class: 'visually-hidden' }, periodTitle('week', state.date)),
    columnHeaders(days, true),
    h('tbody', {}, h('tr', {}, days.map((day) => dayCell(day, placed.get(dateKey(day))!, state, [])))),
  );
}

/** Month/Week, Previous/Today/Next and New event; each press draws the page anew through the route. */
function toolbar(state: ViewState, context: PageContext): HTMLElement {
  const step = (direction: number) =>
    state.mode === 'month' ? new Date(state.date.getFullYear(), state.date.getMonth() + direction, 1) : addDays(state.date, 7 * direction);
  const focusAgain = refocusAction;
  refocusAction = undefined;
  const button = (label: string, mode: ViewMode, date: Date, pressed?: boolean) => {
    const query = viewQuery({ mode, date });
    const element = h('button', { type: 'button', 'aria-pressed': pressed === undefined ? null : String(pressed) }, label);
    element.addEventListener('click', () => {
      if (location.hash === href('calendar', [], query)) return; // already there: nothing is drawn anew
      refocusAction = label;
      context.go('calendar', [], query);
    });
    // Keyboard users stay on the button they pressed (it is in the page once the data is asked for).
    if (focusAgain === label) queueMicrotask(() => element.focus());
    return element;
  };
  const newEvent = h('button', { type: 'button', class: 'primary' }, 'New event');
  newEvent.addEventListener('click', () => context.go('calendar', ['new'], viewQuery(state)));
  return h(
    'div',
    { class: 'toolbar cal-toolbar' },
    h('div', { class: 'cal-group', role: 'group', 'aria-label': 'View' }, button('Month', 'month', state.date, state.mode === 'month'), button('Week', 'week', state.date, state.mode === 'week')),
    h(
      'div',
      { class: 'cal-group', role: 'group', 'aria-label': 'Go to' },
      button('Previous', state.mode, step(-1)),
      button('Today', state.mode, today()),
      button('Next', state.mode, step(1)),
    ),
    newEvent,
  );
}

async function calendarView(view: HTMLElement, context: PageContext): Promise<void> {
  const state = viewState(context);
  const days = state.mode === 'month' ? monthDays(state.date) : weekDays(state.date);
  const status = h('p', { class: 'cal-status', 'aria-live': 'polite' });
  view.append(h('h1', {}, 'Calendar'), toolbar(state, context), h('h2', {}, periodTitle(state.mode, state.date)), status);
  const range = new URLSearchParams({ from: days[0]!.toISOString(), to: addDays(days.at(-1)!, 1).toISOString() });
  const instances = await api<Instance[]>('GET', `calendar/events?${range}`);
  const placed = eventsByDay(instances, days);
  view.append(state.mode === 'month' ? monthTable(days, placed, state) : weekTable(days, placed, state));
  // Filled in after the grid is there, so screen readers announce where the user moved to.
  const count = instances.length === 0 ? 'no events' : instances.length === 1 ? '1 event' : `${instances.length} events`;
  status.textContent = `${periodTitle(state.mode, state.date)}: ${count}.`;
}

// ---------------------------------------------------------------------------------------------
// The event form

/** The form's values for an event: what the inputs show. */
interface FormState {
  summary: string;
  allDay: boolean;
  /** 'YYYY-MM-DDTHH:MM' (a wall clock of `timezone`) or, all-day, 'YYYY-MM-DD' with End the last day. */
  start: string;
  end: string;
  timezone: string;
  location: string;
  description: string;
  rrule: Rule | null;
}

function newEventState(day: Date): FormState {
  const now = new Date();
  // Today: the next full hour; another day: 9 o'clock.
  const start = dateKey(day) === dateKey(now) ? new Date(now.getFullYear(), now.getMonth(), now.getDate(), now.getHours() + 1) : new Date(day.getFullYear(), day.getMonth(), day.getDate(), 9);
  const end = new Date(start.getTime() + 3_600_000);
  return { summary: '', allDay: false, start: localInput(start), end: localInput(end), timezone: browserZone(), location: '', description: '', rrule: null };
}

/** An event's times as its zone's wall clocks; one without a zone (stored in UTC) in the browser's, which saving moves it to. */
function storedEventState(event: EventDetails): FormState {
  const times = event.allDay
    ? { start: event.start, end: dateKey(addDays(parseDateKey(event.end)!, -1)) }
    : event.timezone === undefined
      ? { start: localInput(new Date(event.start)), end: localInput(new Date(event.end)) }
      : { start: event.start.slice(0, 16), end: event.end.slice(0, 16) };
  const common = { summary: event.summary, allDay: event.allDay, location: event.location, description: event.description, rrule: event.rrule };
  return { ...common, ...times, timezone: event.timezone ?? browserZone() };
}

/**
 * The request body from the form, timed times as wall clocks of `timezone`; throws an Error with
 * a message for people when the times do not make sense.
 */
function eventBody(values: Record<string, string>, previous: Rule | null, timezone: string): EventBody {
  const allDay = values.allDay !== undefined;
  const [startText, endText] = [values.start ?? '', values.end ?? ''];
  const fields = { summary: values.summary ?? '', location: values.location ?? '', description: values.description ?? '', allDay, rrule: ruleFrom(values, previous) };
  if (allDay) {
    const [first, last] = [parseDateKey(startText), parseDateKey(endText)];
    if (first === undefined || last === undefined) throw new Error('Enter a start and an end date.');
    if (last < first) throw new Error('The end date must not be before the start date.');
    return { ...fields, start: dateKey(first), end: dateKey(addDays(last, 1)) };
  }
  if (!WALL_CLOCK.test(startText) || !WALL_CLOCK.test(endText)) throw new Error('Enter a start and an end.');
  // Wall clocks of one zone compare as text.
  if (endText <= startText) throw new Error('The end must be after the start.');
  return { ...fields, start: startText, end: endText, timezone };
}

/** The rule the form asks for; the stored one as it was when Repeat and Ends after are unchanged. */
function ruleFrom(values: Record<string, string>, previous: Rule | null): Rule | null {
  const freq = REPEATS.find(([value]) => value !== '' && value === values.freq)?.[0] as Frequency | undefined;
  if (freq === undefined) return null;
  const count = values.count === undefined || values.count === '' ? undefined : Number(values.count);
  if (previous !== null && previous.freq === freq && previous.count === count) return previous;
  const interval = previous?.freq === freq ? previous.interval : 1;
  return count === undefined ? { freq, interval } : { freq, interval, count };
}

/** What the Repeat choice does not show of a stored rule: its interval and end date. */
function ruleNote(rule: Rule | null): string | undefined {
  if (rule === null || (rule.interval === 1 && rule.until === undefined)) return undefined;
  const every = rule.interval === 1 ? '' : `every ${rule.interval} ${UNITS[rule.freq]}`;
  const until = rule.until === undefined ? '' : `until ${new Date(rule.until.length === 10 ? `${rule.until}T00:00` : rule.until).toLocaleDateString()}`;
  return `Currently repeats ${[every, until].filter(Boolean).join(', ')}.`;
}

/** Start and End follow the All day box: dates or dates with times, keeping the days. */
function switchAllDay(allDay: boolean, start: HTMLInputElement, end: HTMLInputElement): void {
  const [startDay, endDay] = [start.value.slice(0, 10), end.value.slice(0, 10)];
  // Emptied first: a value of the old type is refused (with a console warning) by the new one.
  start.value = end.value = '';
  start.type = end.type = allDay ? 'date' : 'datetime-local';
  start.value = allDay ? startDay : startDay === '' ? '' : `${startDay}T09:00`;
  end.value = allDay ? endDay : endDay === '' ? '' : `${endDay}T10:00`;
}

function repeatSelect(selected: Frequency | undefined): HTMLSelectElement {
  return h('select', { name: 'freq' }, REPEATS.map(([value, label]) => h('option', { value, selected: value === (selected ?? '') }, label)));
}

async function eventForm(view: HTMLElement, context: PageContext, target: { cal: string; name: string } | undefined): Promise<void> {
  const state = viewState(context);
  const [calendars, existing] = await Promise.all([
    api<CalendarInfo[]>('GET', 'calendar'),
    target === undefined ? Promise.resolve(undefined) : api<EventDetails>('GET', `calendar/${segments(target.cal, target.name)}`),
  ]);
  const values = existing === undefined ? newEventState(state.date) : storedEventState(existing);
  const status = h('div', { 'aria-live': 'polite' });

  const summary = h('input', { name: 'summary', required: true, maxlength: 1000, value: values.summary, autocomplete: 'off' });
  const allDay = h('input', { name: 'allDay', type: 'checkbox', checked: values.allDay });
  const timeType = values.allDay ? 'date' : 'datetime-local';
  const start = h('input', { name: 'start', type: timeType, required: true, value: values.start });
  const end = h('input', { name: 'end', type: timeType, required: true, value: values.end });
  // Another zone's event keeps its zone, said once for both times.
  const zoneHint = values.timezone === browserZone() ? undefined : `Times are in ${values.timezone}.`;
  const startField = field('Start', start, zoneHint);
  if (zoneHint !== undefined) end.setAttribute('aria-describedby', start.getAttribute('aria-describedby')!);
  const repeat = repeatSelect(values.rrule?.freq);
  const count = h('input', { name: 'count', type: 'number', min: 1, max: 10000, step: 1, inputmode: 'numeric', value: values.rrule?.count ?? '', disabled: values.rrule === null });
  allDay.addEventListener('change', () => switchAllDay(allDay.checked, start, end));
  repeat.addEventListener('change', () => {
    count.disabled = repeat.value === '';
  });
  const allDayField = field('All day', allDay);
  allDayField.classList.add('cal-check');
  const calendarChoice =
    existing === undefined && calendars.length > 1
      ? field('Calendar', h('select', { name: 'calendar' }, calendars.map((c) => h('option', { value: c.name }, c.displayName))))
      : undefined;

  const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
  const form = h(
    'form',
    { class: 'card cal-form', 'aria-labelledby': 'event-form-title' },
    calendarChoice,
    field('Title', summary),
    allDayField,
    h('div', { class: 'cal-times' }, startField, field('End', end)),
    field('Location', h('input', { name: 'location', maxlength: 1000, value: values.location })),
    field('Notes', h('textarea', { name: 'description', maxlength: 10000, rows: 4 }, values.description)),
    h('div', { class: 'cal-times' }, field('Repeat', repeat, ruleNote(values.rrule)), field('Ends after (times)', count, 'Leave empty to repeat with no end.')),
    h('div', { class: 'toolbar' }, save, existing !== undefined && deleteControl(existing, status, context, state)),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    let body: EventBody;
    try {
      body = eventBody(formValues(form), existing?.rrule ?? null, values.timezone);
    } catch (err) {
      replace(status, notice(errorText(err)));
      return;
    }
    save.disabled = true;
    try {
      if (existing === undefined) await api('POST', `calendar/${segments(formValues(form).calendar ?? calendars[0]!.name)}`, body);
      else await api('PUT', `calendar/${segments(existing.calendar, existing.name)}`, { ...body, etag: existing.etag });
      context.go('calendar', [], { view: state.mode, date: body.start.slice(0, 10) });
    } catch (err) {
      replace(status, notice(errorText(err)), staleHint(err, view, context, target));
      save.disabled = false;
    }
  });
  view.append(
    h('p', {}, h('a', { href: href('calendar', [], viewQuery(state)) }, '← Back to calendar')),
    h('h1', { id: 'event-form-title' }, existing === undefined ? 'New event' : 'Edit event'),
    status,
    form,
  );
  summary.focus();
}

/** After a 412 (changed elsewhere): a way to load the event as it is now. */
function staleHint(err: unknown, view: HTMLElement, context: PageContext, target: { cal: string; name: string } | undefined): HTMLElement | undefined {
  if (!(err instanceof ApiError && err.status === 412) || target === undefined) return undefined;
  const reload = h('button', { type: 'button' }, 'Load the latest version');
  reload.addEventListener('click', () => {
    replace(view);
    eventForm(view, context, target).catch((loadError: unknown) => view.append(notice(errorText(loadError))));
  });
  return reload;
}

/** Delete, asked once more in the page (no browser dialog). */
function deleteControl(event: EventDetails, status: HTMLElement, context: PageContext, state: ViewState): HTMLElement {
  const area = h('div', { class: 'cal-delete' });
  const ask = h('button', { type: 'button', class: 'danger' }, 'Delete');
  ask.addEventListener('click', () => {
    const yes = h('button', { type: 'button', class: 'danger' }, 'Yes, delete');
    const no = h('button', { type: 'button' }, 'No, keep it');
    yes.addEventListener('click', async () => {
      yes.disabled = true;
      try {
        await api('DELETE', `calendar/${segments(event.calendar, event.name)}?${new URLSearchParams({ etag: event.etag })}`);
        context.go('calendar', [], viewQuery(state));
      } catch (err) {
        replace(status, notice(errorText(err)));
        yes.disabled = false;
      }
    });
    no.addEventListener('click', () => {
      replace(area, ask);
      ask.focus();
    });
    const question = event.rrule === null ? 'Delete this event?' : 'Delete this event and all its repeats?';
    replace(area, h('div', { role: 'group', 'aria-label': 'Confirm delete', class: 'cal-confirm' }, h('span', {}, question), yes, no));
    no.focus();
  });
  area.append(ask);
  return area;
}

export const calendarPage: Page = {
  name: 'calendar',
  title: 'Calendar',
  render(view, context) {
    const [first, second] = context.path;
    if (first === undefined) return calendarView(view, context);
    if (first === 'new' && second === undefined) return eventForm(view, context, undefined);
    if (second !== undefined) return eventForm(view, context, { cal: first, name: second });
    context.go('calendar');
  },
};
