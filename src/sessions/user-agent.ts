/**
 * A readable name for the browser and system in a User-Agent header ("Chrome, Windows"), enough for
 * a citizen to recognise their own devices in the session list. Deliberately small: the raw header
 * is shown beside it, so an unrecognised one still tells something.
 */
export interface DeviceName {
  browser?: string;
  os?: string;
}

// Order matters: Edge and Opera and Yandex say "Chrome" too, Chrome says "Safari".
const BROWSERS: Array<[RegExp, string]> = [
  [/YaBrowser\//, 'Яндекс Браузер'],
  [/Edg(A|iOS)?\//, 'Edge'],
  [/OPR\/|Opera/, 'Opera'],
  [/Firefox\/|FxiOS\//, 'Firefox'],
  [/Chrome\/|CriOS\//, 'Chrome'],
  [/Version\/[\d.]+.*Safari\//, 'Safari'],
];

const SYSTEMS: Array<[RegExp, string]> = [
  [/iPhone|iPad|iPod/, 'iOS'],
  [/Android/, 'Android'],
  [/Windows/, 'Windows'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/CrOS/, 'ChromeOS'],
  [/Linux/, 'Linux'],
];

export function describeUserAgent(userAgent: string | null | undefined): DeviceName {
  if (!userAgent) return {};
  return {
    browser: BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1],
    os: SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1],
  };
}

/** What we keep of a header: enough to recognise, not a place to store kilobytes. */
export function clampUserAgent(userAgent: string | undefined): string | null {
  const value = userAgent?.trim();
  return value ? value.slice(0, 300) : null;
}

/** IPv4 clients reach a dual-stack socket as ::ffff:a.b.c.d; people know them as a.b.c.d. */
export function displayIp(ip: string | undefined): string | null {
  if (!ip) return null;
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
