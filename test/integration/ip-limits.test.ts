import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession, formAction } from '../support/browser-session.ts';
import { csrfToken } from '../support/account.ts';

describe('per-IP limits on registration and recovery', () => {
  let idp: TestIdp;
  beforeAll(async () => {
    idp = await startTestIdp();
  });
  afterAll(() => idp?.close());

  async function register(n: number) {
    const browser = new BrowserSession();
    const form = await browser.open(`${idp.issuer}/registration`);
    return browser.submit(formAction(form, '/registration'), {
      _csrf: csrfToken(form), lastName: 'Тестов', firstName: 'Тест', contact: `ip-limit-${n}@example.ru`, password: `Zk7#Vortex-${n}q`, passwordRepeat: `Zk7#Vortex-${n}q`,
    });
  }

  it('lets 10 registrations an hour from one address, then answers 429 with Retry-After and a page that says when', async () => {
    for (let n = 0; n < 10; n++) expect((await register(n)).status).toBeLessThan(400);
    const refused = await register(10);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.html).toMatch(/Слишком много попыток\. Повторите через \d+ мин\./);
  });

  it('does not count a form that fails validation', async () => {
    const other = await startTestIdp();
    try {
      for (let n = 0; n < 12; n++) {
        const browser = new BrowserSession();
        const form = await browser.open(`${other.issuer}/registration`);
        const answer = await browser.submit(formAction(form, '/registration'), { _csrf: csrfToken(form), lastName: 'Smith', firstName: '', contact: 'x', password: 'x', passwordRepeat: 'x' });
        expect(answer.status).toBe(400);
      }
    } finally {
      await other.close();
    }
  });
});
