// This file implements strftime(3) in the C locale from the perspective of an access log whose
// `%t` / `%{…}t` tokens follow PHP-FPM's (which calls strftime): the conversions
// config/access-format.ts accepts, on the local time zone of the daemon.

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
  'October', 'November', 'December'];

function pad(value: number, width = 2, fill = '0'): string {
  return String(value).padStart(width, fill);
}

/** `+0200`: the local offset from UTC of `date`. */
function zone(date: Date): string {
  const offset = -date.getTimezoneOffset();
  const abs = Math.abs(offset);
  return `${offset < 0 ? '-' : '+'}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}

function dayOfYear(date: Date): number {
  const start = new Date(date.getFullYear(), 0, 1);
  return Math.round((new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime() - start.getTime()) / 86_400_000) + 1;
}

function conversion(c: string, d: Date): string {
  switch (c) {
    case 'a': return (DAYS[d.getDay()] ?? '').slice(0, 3);
    case 'A': return DAYS[d.getDay()] ?? '';
    case 'b': return (MONTHS[d.getMonth()] ?? '').slice(0, 3);
    case 'B': return MONTHS[d.getMonth()] ?? '';
    case 'd': return pad(d.getDate());
    case 'D': return `${pad(d.getMonth() + 1)}/${pad(d.getDate())}/${pad(d.getFullYear() % 100)}`;
    case 'e': return pad(d.getDate(), 2, ' ');
    case 'F': return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
    case 'H': return pad(d.getHours());
    case 'I': return pad(((d.getHours() + 11) % 12) + 1);
    case 'j': return pad(dayOfYear(d), 3);
    case 'm': return pad(d.getMonth() + 1);
    case 'M': return pad(d.getMinutes());
    case 'n': return '\n';
    case 'p': return d.getHours() < 12 ? 'AM' : 'PM';
    case 'R': return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    case 's': return String(Math.floor(d.getTime() / 1000));
    case 'S': return pad(d.getSeconds());
    case 'T': return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    case 'u': return String(d.getDay() === 0 ? 7 : d.getDay());
    case 'w': return String(d.getDay());
    case 'y': return pad(d.getFullYear() % 100);
    case 'Y': return String(d.getFullYear());
    case 'z': return zone(d);
    case '%': return '%';
    default: return `%${c}`;
  }
}

/**
 * Formats `timeMs` (ms since the epoch) with strftime(3) conversions, C locale, local time.
 * Supported: `%a %A %b %B %d %D %e %F %H %I %j %m %M %n %p %R %s %S %T %u %w %y %Y %z %%`
 * (config/access-format.ts refuses the others); an unknown one is copied as is.
 * @see strftime(3)
 */
export function strftime(format: string, timeMs: number): string {
  const date = new Date(timeMs);
  let out = '';
  for (let i = 0; i < format.length; i++) {
    const c = format.charAt(i);
    if (c !== '%' || i + 1 >= format.length) {
      out += c;
      continue;
    }
    i += 1;
    out += conversion(format.charAt(i), date);
  }
  return out;
}
