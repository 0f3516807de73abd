/**
 * HTTP-date (RFC 9110 §5.6.7), read strictly. Recipients MUST accept its three forms and treat
 * anything else as invalid, which for If-Modified-Since, If-Unmodified-Since and If-Range means
 * "ignore the header". `Date.parse` reads far more (time zones other than GMT, missing times,
 * lower-case names) and misses the RFC 850 form's two-digit year rule, so it is not used;
 * written here because no maintained package parses exactly this grammar.
 *
 * - IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`
 * - obsolete RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`
 * - asctime: `Sun Nov  6 08:49:37 1994`
 */

const SHORT_DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const LONG_DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

interface DateParts {
  year: number;
  month: number;
  day: number;
  time: string;
}

/**
 * Whole seconds since the epoch of a valid HTTP-date, or `undefined` for any other value.
 * Names are case-sensitive (the grammar's `%s` strings); fields are range-checked, and a day the
 * month does not have is invalid. An RFC 850 two-digit year more than 50 years ahead of `now`
 * is the most recent past year with those digits.
 *
 * @example
 * parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'); // 784111777
 * parseHttpDate('Sun, 06 Nov 1994 08:49:37 UTC'); // undefined
 */
export function parseHttpDate(value: string, now: Date = new Date()): number | undefined {
  const parts = imfFixdate(value) ?? rfc850Date(value, now) ?? asctimeDate(value);
  return parts === undefined ? undefined : toSeconds(parts);
}

/** `Sun, 06 Nov 1994 08:49:37 GMT`: exactly 29 characters. */
function imfFixdate(value: string): DateParts | undefined {
  const [dayName, day, month, year, time, zone, ...rest] = value.split(' ');
  if (rest.length > 0 || zone !== 'GMT' || dayName?.length !== 4 || !dayName.endsWith(',')) {
    return undefined;
  }
  if (!SHORT_DAYS.includes(dayName.slice(0, 3)) || !digits(day, 2) || !digits(year, 4)) {
    return undefined;
  }
  return {
    year: Number(year),
    month: MONTHS.indexOf(month ?? ''),
    day: Number(day),
    time: time ?? '',
  };
}

/** `Sunday, 06-Nov-94 08:49:37 GMT`. */
function rfc850Date(value: string, now: Date): DateParts | undefined {
  const [dayName, date, time, zone, ...rest] = value.split(' ');
  if (rest.length > 0 || zone !== 'GMT' || !dayName?.endsWith(',')) return undefined;
  if (!LONG_DAYS.includes(dayName.slice(0, -1))) return undefined;
  const [day, month, yy, ...more] = (date ?? '').split('-');
  if (more.length > 0 || !digits(day, 2) || !digits(yy, 2)) return undefined;
  const current = now.getUTCFullYear();
  let year = current - (current % 100) + Number(yy);
  if (year > current + 50) year -= 100;
  return { year, month: MONTHS.indexOf(month ?? ''), day: Number(day), time: time ?? '' };
}

/** `Sun Nov  6 08:49:37 1994` (a one-digit day is padded with a space). */
function asctimeDate(value: string): DateParts | undefined {
  if (value.length !== 24 || value[3] !== ' ' || value[7] !== ' ' || value[10] !== ' ') {
    return undefined;
  }
  if (!SHORT_DAYS.includes(value.slice(0, 3)) || value[19] !== ' ') return undefined;
  const day = value.slice(8, 10);
  const year = value.slice(20);
  const dayDigits = day.startsWith(' ') ? day.slice(1) : day;
  if (!digits(dayDigits, dayDigits.length) || dayDigits.length === 0 || !digits(year, 4)) {
    return undefined;
  }
  return {
    year: Number(year),
    month: MONTHS.indexOf(value.slice(4, 7)),
    day: Number(dayDigits),
    time: value.slice(11, 19),
  };
}

/** `hh:mm:ss`, range-checked (second 60 is a leap second, read as the next second). */
function toSeconds({ year, month, day, time }: DateParts): number | undefined {
  const [hh, mm, ss, ...rest] = time.split(':');
  if (rest.length > 0 || !digits(hh, 2) || !digits(mm, 2) || !digits(ss, 2)) return undefined;
  const [hour, minute, second] = [Number(hh), Number(mm), Number(ss)];
  if (month < 0 || hour > 23 || minute > 59 || second > 60) return undefined;
  const daysInMonth = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return undefined;
  return Date.UTC(year, month, day, hour, minute, second) / 1000;
}

function digits(value: string | undefined, count: number): value is string {
  return value !== undefined && value.length === count && /^[0-9]+$/.test(value);
}

/** The last date formatted, by its time value: most answers in a row are of the same files. */
let lastFormatted: { time: number; text: string } | undefined;

/**
 * An HTTP-date in the IMF-fixdate form (RFC 9110 §5.6.7), as Last-Modified carries it. Formatting
 * a Date costs about a microsecond; the last one is kept, since a hot file is asked for again
 * and again.
 *
 * @example
 * formatHttpDate(new Date(0)); // 'Thu, 01 Jan 1970 00:00:00 GMT'
 */
export function formatHttpDate(date: Date): string {
  const time = date.getTime();
  if (lastFormatted?.time !== time) lastFormatted = { time, text: date.toUTCString() };
  return lastFormatted.text;
}
