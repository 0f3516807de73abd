/**
 * HTTP-date as RFC 9110 §5.6.7 defines it, written for the reference model only (it imports
 * nothing of the library). A recipient MUST accept the three formats: IMF-fixdate, the obsolete
 * RFC 850 date and asctime. Everything else is not a valid HTTP-date.
 */

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const LONG_DAY_NAMES = [
  'Sunday',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
] as const;
const MONTHS = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
] as const;

const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
const MONTH = `(${MONTHS.join('|')})`;
/** IMF-fixdate = day-name "," SP date1 SP time-of-day SP GMT (names are case-sensitive, %s). */
const IMF_FIXDATE = new RegExp(
  `^(?:${DAY_NAMES.join('|')}), (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`,
);
/** rfc850-date = day-name-l "," SP date2 SP time-of-day SP GMT; date2 = day "-" month "-" 2DIGIT. */
const RFC850_DATE = new RegExp(
  `^(?:${LONG_DAY_NAMES.join('|')}), (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`,
);
/** asctime-date = day-name SP date3 SP time-of-day SP year; date3 = month SP ( 2DIGIT / ( SP DIGIT ) ). */
const ASCTIME_DATE = new RegExp(
  `^(?:${DAY_NAMES.join('|')}) ${MONTH} (\\d{2}| \\d) ${TIME} (\\d{4})$`,
);

/**
 * Seconds since the epoch of a valid HTTP-date, or `undefined`. The day name is not checked
 * against the date (the grammar does not tie them); hour, minute, second and day are range
 * checked, and a day that the month does not have is invalid.
 */
export function parseHttpDateStrict(value: string, now = new Date()): number | undefined {
  let match = IMF_FIXDATE.exec(value);
  if (match) return toSeconds(match[3]!, match[2]!, match[1]!, match[4]!, match[5]!, match[6]!);
  match = RFC850_DATE.exec(value);
  if (match) {
    const year = twoDigitYear(Number(match[3]), now);
    return toSeconds(String(year), match[2]!, match[1]!, match[4]!, match[5]!, match[6]!);
  }
  match = ASCTIME_DATE.exec(value);
  if (match) return toSeconds(match[6]!, match[1]!, match[2]!, match[3]!, match[4]!, match[5]!);
  return undefined;
}

/**
 * Not the RFC: the reading `dateReading: 'lenient'` describes (a known library defect, kept in
 * regressions.ts): JavaScript's `Date.parse` on values that begin like a short day name.
 */
export function parseHttpDateLenient(value: string): number | undefined {
  if (!/^[A-Za-z]{3},? /.test(value)) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : Math.floor(time / 1000);
}

/**
 * §5.6.7: a two-digit year that appears more than 50 years in the future is the most recent
 * past year with the same last two digits.
 */
function twoDigitYear(yy: number, now: Date): number {
  const current = now.getUTCFullYear();
  let year = Math.floor(current / 100) * 100 + yy;
  if (year > current + 50) year -= 100;
  return year;
}

function toSeconds(
  year: string,
  month: string,
  day: string,
  hour: string,
  minute: string,
  second: string,
): number | undefined {
  const [y, d, h, m, s] = [year, day, hour, minute, second].map((n) => Number(n.trim())) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const mo = MONTHS.indexOf(month as (typeof MONTHS)[number]);
  // §5.6.7 allows second 60 (a leap second); the model reads it as the next second.
  if (h > 23 || m > 59 || s > 60 || d < 1 || d > daysIn(y, mo)) return undefined;
  return Date.UTC(y, mo, d, h, m, s) / 1000;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** A date in one of the three formats (for generated requests), from whole seconds. */
export function formatHttpDate(seconds: number, format: 'imf' | 'rfc850' | 'asctime'): string {
  const date = new Date(seconds * 1000);
  const day = date.getUTCDay();
  const dd = date.getUTCDate();
  const month = MONTHS[date.getUTCMonth()]!;
  const year = date.getUTCFullYear();
  const time = `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;
  if (format === 'imf') return `${DAY_NAMES[day]}, ${pad(dd)} ${month} ${pad(year, 4)} ${time} GMT`;
  if (format === 'rfc850') {
    return `${LONG_DAY_NAMES[day]}, ${pad(dd)}-${month}-${pad(year % 100)} ${time} GMT`;
  }
  return `${DAY_NAMES[day]} ${month} ${String(dd).padStart(2, ' ')} ${time} ${pad(year, 4)}`;
}
