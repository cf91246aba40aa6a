/**
 * `strftime(3)` in the C locale, for bpftrace's `time(fmt)` and
 * `strftime(fmt, nsecs)`, with bpftrace's `%f` extension (microseconds,
 * six digits). Local time follows the process time zone (`TZ`), as
 * bpftrace's `localtime_r` does; `utc: true` formats in UTC.
 *
 * @module
 */

const DAYS = [
  "Sunday",
  "Monday",
  "Tuesday",
  "Wednesday",
  "Thursday",
  "Friday",
  "Saturday",
];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** Options of {@linkcode formatStrftime}. */
export interface StrftimeOptions {
  /** Format in UTC instead of local time. */
  utc?: boolean;
}

interface Tm {
  year: number;
  mon: number;
  mday: number;
  hour: number;
  min: number;
  sec: number;
  wday: number;
  yday: number;
  /** Offset east of UTC in minutes. */
  gmtoff: number;
}

function toTm(d: Date, utc: boolean): Tm {
  const year = utc ? d.getUTCFullYear() : d.getFullYear();
  const mon = utc ? d.getUTCMonth() : d.getMonth();
  const mday = utc ? d.getUTCDate() : d.getDate();
  const start = Date.UTC(year, 0, 1);
  const yday = Math.round((Date.UTC(year, mon, mday) - start) / 86400000);
  return {
    year,
    mon,
    mday,
    hour: utc ? d.getUTCHours() : d.getHours(),
    min: utc ? d.getUTCMinutes() : d.getMinutes(),
    sec: utc ? d.getUTCSeconds() : d.getSeconds(),
    wday: utc ? d.getUTCDay() : d.getDay(),
    yday,
    gmtoff: utc ? 0 : -d.getTimezoneOffset(),
  };
}

const p2 = (n: number) => String(n).padStart(2, "0");
const s2 = (n: number) => String(n).padStart(2, " ");

function isoWeek(tm: Tm): { year: number; week: number } {
  // ISO 8601: week with the year's first Thursday is week 1.
  const wdayMon = (tm.wday + 6) % 7; // Monday = 0
  let year = tm.year;
  let week = Math.floor((tm.yday - wdayMon + 10) / 7);
  const daysIn = (y: number) =>
    (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 366 : 365;
  if (week < 1) {
    year--;
    const yday = tm.yday + daysIn(year);
    week = Math.floor((yday - wdayMon + 10) / 7);
  } else if (week > 52) {
    const jan1 = (tm.wday - tm.yday % 7 + 7 * 60) % 7; // weekday of Jan 1
    const lastWday = (jan1 + daysIn(year) - 1) % 7;
    const lastMon = (lastWday + 6) % 7;
    if (lastMon < 3) {
      year++;
      week = 1;
    }
  }
  return { year, week };
}

function zoneName(d: Date, utc: boolean): string {
  if (utc) return "UTC";
  try {
    const parts = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" })
      .formatToParts(d);
    return parts.find((p) => p.type === "timeZoneName")?.value ?? "";
  } catch {
    return "";
  }
}

/**
 * Formats a wall-clock time given in nanoseconds since the Unix epoch.
 * Supports the C-locale conversions `%a %A %b %B %c %C %d %D %e %f %F %g
 * %G %h %H %I %j %k %l %m %M %n %p %r %R %s %S %t %T %u %U %V %w %W %x %X
 * %y %Y %z %Z %%`; unknown ones are copied as they are.
 *
 * @example Usage
 * ```ts
 * import { formatStrftime } from "./strftime.ts";
 * import assert from "node:assert/strict";
 *
 * const ns = BigInt(Date.UTC(2024, 0, 2, 3, 4, 5)) * 1_000_000n + 123_456_789n;
 * assert.equal(
 *   formatStrftime("%Y-%m-%d %H:%M:%S.%f", ns, { utc: true }),
 *   "2024-01-02 03:04:05.123456",
 * );
 * ```
 */
export function formatStrftime(
  format: string,
  epochNs: bigint,
  options: StrftimeOptions = {},
): string {
  const utc = options.utc ?? false;
  const secs = epochNs / 1_000_000_000n;
  const nsRem = Number(epochNs % 1_000_000_000n);
  const d = new Date(Number(secs) * 1000);
  const tm = toTm(d, utc);
  let out = "";
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== "%" || i + 1 >= format.length) {
      out += c;
      continue;
    }
    const k = format[++i];
    out += conv(k, tm, d, utc, secs, nsRem);
  }
  return out;
}

function conv(
  k: string,
  tm: Tm,
  d: Date,
  utc: boolean,
  secs: bigint,
  nsRem: number,
): string {
  const h12 = tm.hour % 12 === 0 ? 12 : tm.hour % 12;
  switch (k) {
    case "a":
      return DAYS[tm.wday].slice(0, 3);
    case "A":
      return DAYS[tm.wday];
    case "b":
    case "h":
      return MONTHS[tm.mon].slice(0, 3);
    case "B":
      return MONTHS[tm.mon];
    case "c":
      return `${DAYS[tm.wday].slice(0, 3)} ${MONTHS[tm.mon].slice(0, 3)} ${
        s2(tm.mday)
      } ${p2(tm.hour)}:${p2(tm.min)}:${p2(tm.sec)} ${tm.year}`;
    case "C":
      return p2(Math.floor(tm.year / 100));
    case "d":
      return p2(tm.mday);
    case "D":
    case "x":
      return `${p2(tm.mon + 1)}/${p2(tm.mday)}/${p2(tm.year % 100)}`;
    case "e":
      return s2(tm.mday);
    case "f":
      return String(Math.floor(nsRem / 1000)).padStart(6, "0");
    case "F":
      return `${tm.year}-${p2(tm.mon + 1)}-${p2(tm.mday)}`;
    case "g":
      return p2(isoWeek(tm).year % 100);
    case "G":
      return String(isoWeek(tm).year);
    case "H":
      return p2(tm.hour);
    case "I":
      return p2(h12);
    case "j":
      return String(tm.yday + 1).padStart(3, "0");
    case "k":
      return s2(tm.hour);
    case "l":
      return s2(h12);
    case "m":
      return p2(tm.mon + 1);
    case "M":
      return p2(tm.min);
    case "n":
      return "\n";
    case "p":
      return tm.hour < 12 ? "AM" : "PM";
    case "P":
      return tm.hour < 12 ? "am" : "pm";
    case "r":
      return `${p2(h12)}:${p2(tm.min)}:${p2(tm.sec)} ${
        tm.hour < 12 ? "AM" : "PM"
      }`;
    case "R":
      return `${p2(tm.hour)}:${p2(tm.min)}`;
    case "s":
      return String(secs);
    case "S":
      return p2(tm.sec);
    case "t":
      return "\t";
    case "T":
    case "X":
      return `${p2(tm.hour)}:${p2(tm.min)}:${p2(tm.sec)}`;
    case "u":
      return String(tm.wday === 0 ? 7 : tm.wday);
    case "U":
      return p2(Math.floor((tm.yday + 7 - tm.wday) / 7));
    case "V":
      return p2(isoWeek(tm).week);
    case "w":
      return String(tm.wday);
    case "W":
      return p2(Math.floor((tm.yday + 7 - ((tm.wday + 6) % 7)) / 7));
    case "y":
      return p2(tm.year % 100);
    case "Y":
      return String(tm.year);
    case "z": {
      const off = Math.abs(tm.gmtoff);
      return (tm.gmtoff < 0 ? "-" : "+") + p2(Math.floor(off / 60)) +
        p2(off % 60);
    }
    case "Z":
      return zoneName(d, utc);
    case "%":
      return "%";
    default:
      return "%" + k;
  }
}

/**
 * Formats the current time for bpftrace's `time(fmt)` (default format
 * `"%H:%M:%S\n"`).
 *
 * @example Usage
 * ```ts
 * import { formatTime } from "./strftime.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(formatTime(), /^\d\d:\d\d:\d\d\n$/);
 * ```
 */
export function formatTime(
  format = "%H:%M:%S\n",
  now: Date = new Date(),
): string {
  return formatStrftime(format, BigInt(now.getTime()) * 1_000_000n);
}
