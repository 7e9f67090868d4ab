import { isIPv4, isIPv6 } from 'node:net';
import { describeUserAgent } from '../sessions/user-agent.ts';

/**
 * What "the same device" means for new-device notices, kept deliberately simple: the browser family
 * and operating system from the User-Agent (sessions/user-agent.ts, as the session list shows them),
 * plus the client's network (IPv4 /24, IPv6 /48). A new browser, or the same browser on another
 * network, is a new device; a browser update or a new address in the same /24 is not.
 */
export interface Device {
  browser: string;
  os: string;
  network: string;
  /** `<browser>/<os>|<network>`, stored with every login attempt. */
  key: string;
}

export function describeDevice(userAgent: string, ip: string): Device {
  const named = describeUserAgent(userAgent);
  const browser = named.browser ?? firstProduct(userAgent);
  const os = named.os ?? 'unknown';
  const network = networkOf(ip);
  return { browser, os, network, key: `${browser}/${os}|${network}` };
}

/** "curl/8.5" → "curl"; nothing recognisable → "unknown". */
function firstProduct(userAgent: string): string {
  return /^[A-Za-z][\w.-]{0,31}/.exec(userAgent.trim())?.[0] ?? 'unknown';
}

export function networkOf(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  const address = mapped ?? ip;
  if (isIPv4(address)) return `${address.split('.').slice(0, 3).join('.')}.0/24`;
  if (isIPv6(address)) return `${expandIPv6(address).slice(0, 3).join(':')}::/48`;
  return 'unknown';
}

function expandIPv6(address: string): string[] {
  const [head, tail = ''] = address.split('%')[0].split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const zeros = address.includes('::') ? Array(8 - left.length - right.length).fill('0') : [];
  return [...left, ...zeros, ...right].map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''));
}
