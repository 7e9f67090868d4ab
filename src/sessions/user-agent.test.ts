import { describe, expect, it } from 'vitest';
import { clampUserAgent, describeUserAgent, displayIp } from './user-agent.ts';

describe('describeUserAgent', () => {
  it.each([
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', 'Chrome', 'Windows'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0', 'Edge', 'Windows'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15', 'Safari', 'macOS'],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1', 'Safari', 'iOS'],
    ['Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 'Firefox', 'Linux'],
    ['Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 YaBrowser/24.12.0.0 Mobile Safari/537.36', 'Яндекс Браузер', 'Android'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0', 'Opera', 'Windows'],
  ])('names %s', (ua, browser, os) => {
    expect(describeUserAgent(ua)).toEqual({ browser, os });
  });

  it('leaves what it does not know unnamed', () => {
    expect(describeUserAgent('curl/8.5.0')).toEqual({ browser: undefined, os: undefined });
    expect(describeUserAgent(null)).toEqual({});
  });

  it('keeps at most 300 characters and drops empty headers', () => {
    expect(clampUserAgent('x'.repeat(1000))).toHaveLength(300);
    expect(clampUserAgent('  ')).toBeNull();
    expect(clampUserAgent(undefined)).toBeNull();
  });

  it('shows IPv4-mapped addresses as IPv4', () => {
    expect(displayIp('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(displayIp('2001:db8::1')).toBe('2001:db8::1');
    expect(displayIp('127.0.0.1')).toBe('127.0.0.1');
  });
});
