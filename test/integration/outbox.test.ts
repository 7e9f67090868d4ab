import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/config.ts';
import { openDatabase, type DatabaseHandle } from '../../src/db/create-db.ts';
import type { Db } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { createIdpRuntime } from '../../src/runtime.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { createChannels, type Channel, type ChannelMessage } from '../../src/notifications/channels.ts';
import { enqueueMessage, pruneDeliveredMessages, type OutgoingMessage } from '../../src/notifications/outbox.ts';
import { claimDueMessages, deliverDueMessages, LEASE_SECONDS, MAX_ATTEMPTS, retryDelaySeconds, startOutboxWorker } from '../../src/notifications/outbox.worker.ts';
import { createSmsGatewayChannel } from '../../src/notifications/sms-gateway.channel.ts';
import { renderTemplate, TEMPLATE_NAMES, TemplateError } from '../../src/notifications/templates.ts';
import { createTestClock } from '../support/clock.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { startTestIdp, type TestIdp } from '../support/idp.ts';

const START = new Date('2026-11-23T09:00:00Z');
const silent = createLogger({ level: 'silent' });
const notificationsConfig = (overrides: Partial<Config['notifications']> = {}): Config['notifications'] => ({ smtpFrom: 'Госуслуги <no-reply@esia.test>', pollMs: 1000, devOutbox: true, ...overrides });

const smsCode = (recipient: string, code: string): OutgoingMessage => ({ channel: 'sms', recipient, template: 'registration_code', payload: { code } });

/** A stand-in for the SMS or e-mail provider: records what it was handed, or fails as told. */
function recordingChannel(name: Channel['name'], fail?: () => Error): Channel & { sent: ChannelMessage[] } {
  const sent: ChannelMessage[] = [];
  return {
    name,
    sent,
    async send(message) {
      if (fail) throw fail();
      sent.push(message);
    },
  };
}

describe('the notifications outbox', () => {
  let testDb: TestDatabase;
  let handle: DatabaseHandle;
  let db: Db;
  const clock = createTestClock(START);

  beforeAll(async () => {
    testDb = await createTestDatabase();
    handle = await openDatabase(testDb.settings);
    await migrateToLatest(handle.db);
    db = handle.db;
  });
  afterAll(async () => {
    await handle?.close();
    await testDb?.drop();
  });
  beforeEach(async () => {
    clock.set(START);
    await db.deleteFrom('outbox_messages').execute();
  });

  const enqueue = (message: OutgoingMessage) => enqueueMessage(db, message, clock.now());
  const row = (recipient: string) => db.selectFrom('outbox_messages').selectAll().where('recipient', '=', recipient).executeTakeFirstOrThrow();

  it('sends what committed and nothing of a change that rolled back', async () => {
    await expect(db.transaction().execute(async (trx) => {
      await enqueueMessage(trx, smsCode('79990000001', '111111'), clock.now());
      throw new Error('the change failed');
    })).rejects.toThrow('the change failed');
    await db.transaction().execute((trx) => enqueueMessage(trx, smsCode('79990000002', '222222'), clock.now()));

    const sms = recordingChannel('sms');
    expect(await deliverDueMessages({ db, clock, logger: silent, channels: { sms } })).toBe(1);
    expect(sms.sent.map((m) => m.recipient)).toEqual(['79990000002']);
    expect(await db.selectFrom('outbox_messages').select('recipient').execute()).toEqual([{ recipient: '79990000002' }]);
  });

  it('delivers due messages rendered, marks them sent once, and leaves future ones queued', async () => {
    await enqueue(smsCode('79990000003', '345678'));
    await enqueue({ channel: 'email', recipient: 'ivanov@example.ru', template: 'security_notice', payload: { event: 'password_changed' } });
    await enqueueMessage(db, smsCode('79990000004', '999999'), new Date(START.getTime() + 60_000));
    const sms = recordingChannel('sms');
    const email = recordingChannel('email');

    expect(await deliverDueMessages({ db, clock, logger: silent, channels: { sms, email } })).toBe(2);
    expect(sms.sent).toEqual([expect.objectContaining({ recipient: '79990000003', template: 'registration_code', text: expect.stringContaining('345678') })]);
    expect(email.sent).toEqual([expect.objectContaining({ recipient: 'ivanov@example.ru', subject: 'Уведомление о безопасности', text: expect.stringContaining('Пароль от вашей учётной записи на Госуслугах изменён') })]);
    expect(await row('79990000003')).toMatchObject({ status: 'sent', sent_at: START, attempts: 1, leased_until: null, last_error: null });
    expect(await row('79990000004')).toMatchObject({ status: 'queued', attempts: 0 });

    expect(await deliverDueMessages({ db, clock, logger: silent, channels: { sms, email } })).toBe(0);
    expect(sms.sent).toHaveLength(1);
  });

  it('retries a failed send with growing pauses and abandons it after the last attempt', async () => {
    await enqueue(smsCode('79990000005', '505050'));
    const sms = recordingChannel('sms', () => new Error('gateway down'));
    const deps = { db, clock, logger: silent, channels: { sms }, random: () => 0.5 };
    const pauses: number[] = [];

    for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
      expect(await deliverDueMessages(deps)).toBe(1);
      const message = await row('79990000005');
      expect(message).toMatchObject({ status: 'queued', attempts: attempt, last_error: 'gateway down', leased_until: null });
      pauses.push((message.next_attempt_at.getTime() - clock.now().getTime()) / 1000);
      // Not due yet: a round just before the pause ends leaves it alone.
      clock.set(new Date(message.next_attempt_at.getTime() - 1000));
      expect(await deliverDueMessages(deps)).toBe(0);
      clock.set(message.next_attempt_at);
    }
    expect(pauses).toEqual([5, 30, 120, 600, 3600, 3 * 3600, 6 * 3600]);

    expect(await deliverDueMessages(deps)).toBe(1);
    expect(await row('79990000005')).toMatchObject({ status: 'abandoned', attempts: MAX_ATTEMPTS, last_error: 'gateway down', leased_until: null, sent_at: null });
    clock.advance(24 * 3600);
    expect(await deliverDueMessages(deps)).toBe(0);
  });

  it('jitters each pause by at most ±20 %, so pauses still grow', () => {
    for (let attempts = 1; attempts < MAX_ATTEMPTS; attempts++) {
      const base = retryDelaySeconds(attempts, () => 0.5);
      expect(retryDelaySeconds(attempts, () => 0)).toBeCloseTo(base * 0.8);
      expect(retryDelaySeconds(attempts, () => 0.999_999)).toBeGreaterThan(base * 1.19);
      expect(retryDelaySeconds(attempts, () => 0.999_999)).toBeLessThanOrEqual(base * 1.2);
      if (attempts < MAX_ATTEMPTS - 1) expect(retryDelaySeconds(attempts, () => 0.999_999)).toBeLessThan(retryDelaySeconds(attempts + 1, () => 0));
    }
  });

  it('abandons a message it can never render, with a clear error, and delivers the rest', async () => {
    await enqueue({ channel: 'sms', recipient: '79990000006', template: 'no_such_template', payload: { code: '123456' } });
    await enqueue({ channel: 'sms', recipient: '79990000007', template: 'recovery_code', payload: {} });
    await enqueue(smsCode('79990000008', '808080'));
    const sms = recordingChannel('sms');

    expect(await deliverDueMessages({ db, clock, logger: silent, channels: { sms } })).toBe(3);
    expect(await row('79990000006')).toMatchObject({ status: 'abandoned', attempts: 1, last_error: 'unknown template "no_such_template"' });
    expect(await row('79990000007')).toMatchObject({ status: 'abandoned', attempts: 1, last_error: 'template "recovery_code" needs payload.code (a string)' });
    expect(await row('79990000008')).toMatchObject({ status: 'sent' });
    expect(sms.sent.map((m) => m.recipient)).toEqual(['79990000008']);
  });

  it('never delivers a message twice when several workers race for the same rows', async () => {
    const recipients = Array.from({ length: 40 }, (_, i) => `7999100${String(i).padStart(4, '0')}`);
    for (const recipient of recipients) await enqueue(smsCode(recipient, '424242'));
    const delivered: string[] = [];
    const sms: Channel = {
      name: 'sms',
      async send(message) {
        await new Promise((resolve) => setImmediate(resolve)); // let the other workers claim meanwhile
        delivered.push(message.recipient);
      },
    };
    const worker = async () => {
      while ((await deliverDueMessages({ db, clock, logger: silent, channels: { sms }, batchSize: 3 })) > 0);
    };

    await Promise.all([worker(), worker(), worker(), worker()]);

    expect(delivered.toSorted()).toEqual(recipients);
    const rows = await db.selectFrom('outbox_messages').select(['status', 'attempts']).execute();
    expect(rows.every((r) => r.status === 'sent' && r.attempts === 1)).toBe(true);
  });

  it("delivers a crashed worker's message once its lease has run out", async () => {
    await enqueue(smsCode('79990000009', '909090'));
    expect(await claimDueMessages(db, clock.now(), 10)).toHaveLength(1); // … and the worker dies before sending
    const sms = recordingChannel('sms');
    const round = () => deliverDueMessages({ db, clock, logger: silent, channels: { sms } });

    expect(await round()).toBe(0);
    clock.advance(LEASE_SECONDS - 1);
    expect(await round()).toBe(0);
    clock.advance(2);
    expect(await round()).toBe(1);
    expect(sms.sent.map((m) => m.text)).toEqual([expect.stringContaining('909090')]);
    expect(await row('79990000009')).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('ignores the late outcome of a worker whose lease was taken over', async () => {
    await enqueue(smsCode('79990000010', '101010'));
    let started!: () => void;
    const sending = new Promise<void>((resolve) => { started = resolve; });
    let finish!: (error: Error) => void;
    const slow: Channel = { name: 'sms', send: () => { started(); return new Promise((_, reject) => { finish = reject; }); } };
    const slowRound = deliverDueMessages({ db, clock, logger: silent, channels: { sms: slow } });
    await sending;

    clock.advance(LEASE_SECONDS + 1);
    const sms = recordingChannel('sms');
    expect(await deliverDueMessages({ db, clock, logger: silent, channels: { sms } })).toBe(1);
    finish(new Error('timed out at last'));
    await slowRound;

    expect(await row('79990000010')).toMatchObject({ status: 'sent', attempts: 2, last_error: null });
  });

  it('runs in the background until stopped, delivering what is queued', async () => {
    await enqueue(smsCode('79990000016', '161616'));
    let delivered!: (message: ChannelMessage) => void;
    const arrived = new Promise<ChannelMessage>((resolve) => { delivered = resolve; });
    const worker = startOutboxWorker({ db, clock, logger: silent, channels: { sms: { name: 'sms', send: async (m) => delivered(m) } }, pollMs: 20 });
    try {
      expect((await arrived).recipient).toBe('79990000016');
    } finally {
      await worker.stop();
    }
    expect(await row('79990000016')).toMatchObject({ status: 'sent' });
  });

  it('deletes sent and abandoned messages older than 30 days, never queued ones', async () => {
    const old = new Date(START.getTime() - 31 * 24 * 3600_000);
    for (const [recipient, status] of [['old-sent', 'sent'], ['old-abandoned', 'abandoned'], ['old-queued', 'queued']] as const) {
      await enqueueMessage(db, { channel: 'post', recipient, template: 'letter_code', payload: { code: '1' } }, old);
      await db.updateTable('outbox_messages').set({ status }).where('recipient', '=', recipient).execute();
    }
    await enqueue({ channel: 'post', recipient: 'new-sent', template: 'letter_code', payload: { code: '1' } });
    await db.updateTable('outbox_messages').set({ status: 'sent' }).where('recipient', '=', 'new-sent').execute();

    expect(await pruneDeliveredMessages(db, clock)).toBe(2);
    const left = await db.selectFrom('outbox_messages').select('recipient').orderBy('recipient').execute();
    expect(left.map((r) => r.recipient)).toEqual(['new-sent', 'old-queued']);
  });

  describe('the development channel', () => {
    it('logs channel, recipient and template, never the code or the text, and counts as delivered', async () => {
      const lines: string[] = [];
      const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
      await enqueue(smsCode('79990000011', '482913'));
      await enqueue({ channel: 'post', recipient: 'г. Москва, ул. Тверская, д. 1, кв. 2', template: 'letter_code', payload: { code: '7731-5520', fullName: 'Иванов Иван' } });

      expect(await deliverDueMessages({ db, clock, logger, channels: createChannels(notificationsConfig(), logger) })).toBe(2);

      expect(await row('79990000011')).toMatchObject({ status: 'sent' });
      expect(await row('г. Москва, ул. Тверская, д. 1, кв. 2')).toMatchObject({ status: 'sent' });
      const devLines = lines.map((l) => JSON.parse(l)).filter((l) => l.msg.includes('development outbox'));
      expect(devLines).toEqual(expect.arrayContaining([expect.objectContaining({ channel: 'sms', recipient: '79990000011', template: 'registration_code' })]));
      expect(lines.join('\n')).not.toMatch(/482913|7731-5520|Код/);
    });

    it('is never used in production: without a provider, messages are abandoned with a clear error', async () => {
      const channels = createChannels(notificationsConfig({ devOutbox: false, smsGatewayUrl: 'http://127.0.0.1:9/sms', smsGatewayToken: 't' }), silent);
      expect({ sms: channels.sms.via, email: channels.email.via, post: channels.post.via }).toEqual({ sms: 'sms-gateway', email: 'unavailable', post: 'unavailable' });
      await enqueue({ channel: 'post', recipient: 'г. Тула, ул. Ленина, д. 5', template: 'letter_code', payload: { code: '123456' } });
      await enqueue({ channel: 'email', recipient: 'petrov@example.ru', template: 'security_notice', payload: { event: 'password_changed' } });

      expect(await deliverDueMessages({ db, clock, logger: silent, channels })).toBe(2);
      expect(await row('г. Тула, ул. Ленина, д. 5')).toMatchObject({ status: 'abandoned', attempts: 1, last_error: expect.stringContaining('no post provider is configured') });
      expect(await row('petrov@example.ru')).toMatchObject({ status: 'abandoned', last_error: expect.stringContaining('SMTP_URL') });
    });
  });

  describe('the HTTP SMS gateway', () => {
    const requests: Array<{ method?: string; url?: string; authorization?: string; contentType?: string; body: unknown }> = [];
    const answers: number[] = [];
    let server: http.Server;
    let url: string;

    beforeAll(async () => {
      server = http.createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk) => (body += chunk));
        req.on('end', () => {
          requests.push({ method: req.method, url: req.url, authorization: req.headers.authorization, contentType: req.headers['content-type'], body: JSON.parse(body) });
          if (req.url === '/hang') return; // never answers
          res.writeHead(answers.shift() ?? 200, { 'content-type': 'application/json' }).end('{"echo":"the gateway may echo the text"}');
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
    });
    beforeEach(() => {
      requests.length = 0;
      answers.length = 0;
    });

    const gatewayChannels = () => createChannels(notificationsConfig({ smsGatewayUrl: `${url}/send`, smsGatewayToken: 'gateway-token' }), silent);

    it('posts JSON { to, text } with the bearer token', async () => {
      await enqueue(smsCode('79990000012', '121212'));
      expect(await deliverDueMessages({ db, clock, logger: silent, channels: gatewayChannels() })).toBe(1);

      expect(requests).toEqual([{
        method: 'POST', url: '/send', authorization: 'Bearer gateway-token', contentType: 'application/json',
        body: { to: '+79990000012', text: renderTemplate('registration_code', { code: '121212' }).text },
      }]);
      expect(await row('79990000012')).toMatchObject({ status: 'sent' });
    });

    it('retries after a 500 or a 429 and delivers when the gateway recovers', async () => {
      await enqueue(smsCode('79990000013', '131313'));
      answers.push(500, 429);
      const deps = { db, clock, logger: silent, channels: gatewayChannels() };

      await deliverDueMessages(deps);
      const first = await row('79990000013');
      expect(first).toMatchObject({ status: 'queued', attempts: 1, last_error: 'sms gateway answered 500' });
      expect(first.next_attempt_at.getTime()).toBeGreaterThan(START.getTime());
      clock.set(first.next_attempt_at);
      await deliverDueMessages(deps);
      const second = await row('79990000013');
      expect(second).toMatchObject({ status: 'queued', attempts: 2, last_error: 'sms gateway answered 429' });
      clock.set(second.next_attempt_at);
      await deliverDueMessages(deps);
      expect(await row('79990000013')).toMatchObject({ status: 'sent', attempts: 3 });
      expect(requests).toHaveLength(3);
    });

    it('abandons at once what the gateway refuses with a 4xx', async () => {
      await enqueue(smsCode('79990000014', '141414'));
      answers.push(400);
      await deliverDueMessages({ db, clock, logger: silent, channels: gatewayChannels() });
      const message = await row('79990000014');
      expect(message).toMatchObject({ status: 'abandoned', attempts: 1, last_error: 'sms gateway answered 400' });
      expect(message.last_error).not.toContain('echo');
    });

    it('retries when the gateway does not answer in time', async () => {
      await enqueue(smsCode('79990000015', '151515'));
      const sms = createSmsGatewayChannel({ url: `${url}/hang`, token: 'gateway-token', timeoutMs: 100 });
      await deliverDueMessages({ db, clock, logger: silent, channels: { sms } });
      expect(await row('79990000015')).toMatchObject({ status: 'queued', last_error: 'sms gateway did not answer within 100 ms' });
    });
  });

  describe('e-mail over SMTP', () => {
    let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
    beforeAll(async () => {
      smtp = await startSmtpServer({ 'nobody@example.ru': '550 5.1.1 no such mailbox', 'busy@example.ru': '451 4.3.0 try again later' });
    });
    afterAll(() => smtp?.close());

    const smtpChannels = () => createChannels(notificationsConfig({ smtpUrl: `smtp://127.0.0.1:${smtp.port}` }), silent);

    it('sends the rendered message from the configured address', async () => {
      await enqueue({ channel: 'email', recipient: 'sidorov@example.ru', template: 'recovery_code', payload: { code: '616161' } });
      expect(await deliverDueMessages({ db, clock, logger: silent, channels: smtpChannels() })).toBe(1);

      expect(await row('sidorov@example.ru')).toMatchObject({ status: 'sent' });
      expect(smtp.mails).toHaveLength(1);
      const mail = parseMail(smtp.mails[0].data);
      expect(smtp.mails[0].to).toEqual(['sidorov@example.ru']);
      expect(mail.headers.from).toContain('no-reply@esia.test');
      expect(mail.headers.subject).toBe('Код для восстановления доступа');
      expect(mail.body).toContain('616161');
      expect(mail.body).toContain('Если это были не вы, проигнорируйте');
    });

    it('abandons a refused mailbox (5xx) and retries a temporary refusal (4xx)', async () => {
      await enqueue({ channel: 'email', recipient: 'nobody@example.ru', template: 'security_notice', payload: { event: 'email_changed' } });
      await enqueue({ channel: 'email', recipient: 'busy@example.ru', template: 'security_notice', payload: { event: 'email_changed' } });
      await deliverDueMessages({ db, clock, logger: silent, channels: smtpChannels() });

      expect(await row('nobody@example.ru')).toMatchObject({ status: 'abandoned', last_error: expect.stringContaining('smtp:') });
      expect(await row('busy@example.ru')).toMatchObject({ status: 'queued', attempts: 1, last_error: expect.stringContaining('smtp:') });
    });
  });
});

describe('message templates', () => {
  it('puts the code in every code message and says what to do if it was not you', () => {
    for (const name of ['registration_code', 'recovery_code', 'contact_change_code', 'letter_code']) {
      expect(renderTemplate(name, { code: '246810' }).text).toContain('246810');
      expect(() => renderTemplate(name, {})).toThrow(TemplateError);
    }
    expect(renderTemplate('recovery_code', { code: '246810' }).text).toContain('Если это были не вы, проигнорируйте');
    expect(renderTemplate('letter_code', { code: '246810', fullName: 'Иванов Иван', expiresOn: '2027-01-31' }).text).toContain('до 31 января 2027 г.');
  });

  it('names the logins an account has, masked', () => {
    const { text } = renderTemplate('login_hint', { logins: ['79991234567', 'ivanov@example.ru', '12345678901'] });
    expect(text).toContain('+7 999 ***-**-67, i***@example.ru, ***-***-*** 01');
    expect(text).not.toMatch(/1234567|ivanov|123456789/);
    // Callers may mask themselves and add labels: those are shown as they are.
    expect(renderTemplate('login_hint', { logins: ['iv***@example.ru', 'СНИЛС'] }).text).toContain('iv***@example.ru, СНИЛС');
    expect(() => renderTemplate('login_hint', { logins: [] })).toThrow(TemplateError);
  });

  it('tells about trust level changes and security events, generic when the event is unknown', () => {
    expect(renderTemplate('trust_level_changed', { level: 'confirmed', previousLevel: 'standard' }).text).toContain('«Стандартная» → «Подтверждённая»');
    expect(() => renderTemplate('trust_level_changed', { level: 'super' })).toThrow(TemplateError);
    expect(renderTemplate('security_notice', { event: 'password_changed', at: '2026-11-23T09:00:00Z' }).text).toContain('Пароль от вашей учётной записи на Госуслугах изменён 23 ноября 2026 г. в 12:00 (МСК).');
    expect(renderTemplate('security_notice', { event: 'contact_changed', kind: 'email' }).text).toContain('Адрес электронной почты в вашей учётной записи на Госуслугах изменён.');
    expect(renderTemplate('security_notice', { event: 'contact_removed', kind: 'phone' }).text).toContain('Номер телефона удалён');
    expect(renderTemplate('security_notice', { event: 'password_reset' }).text).toContain('Пароль от вашей учётной записи на Госуслугах восстановлен.');
    expect(renderTemplate('security_notice', { event: 'something_new' }).text).toContain('Изменены настройки безопасности');
  });

  it('knows exactly the documented templates', () => {
    expect(TEMPLATE_NAMES.toSorted()).toEqual(['contact_change_code', 'family_link', 'letter_code', 'login_code', 'login_hint', 'merge_code', 'organisation_invitation', 'power_of_attorney', 'recovery_code', 'registration_code', 'security_notice', 'trust_level_changed']);
    expect(() => renderTemplate('toString', {})).toThrow('unknown template "toString"');
  });
});

describe('the /dev/outbox page', () => {
  let idp: TestIdp;
  const clock = createTestClock(START);

  beforeAll(async () => {
    idp = await startTestIdp({ clock });
  });
  afterAll(() => idp?.close());

  it('shows each message with its code, escaped, never cached or indexed', async () => {
    const db = idp.runtime.database.db;
    await enqueueMessage(db, smsCode('79991112233', '918273'), clock.now());
    await enqueueMessage(db, { channel: 'post', recipient: '<b>ул. Новая</b>', template: 'letter_code', payload: { code: '55-77' } }, clock.now());

    const response = await fetch(`${idp.issuer}/dev/outbox`);
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-robots-tag')).toBe('noindex, nofollow');
    expect(html).toContain('<title>Исходящие сообщения (только для разработки)</title>');
    expect(html).toContain('Код для регистрации на Госуслугах: 918273.');
    expect(html).toContain('Код подтверждения: 55-77');
    expect(html).toContain('&lt;b&gt;ул. Новая&lt;/b&gt;');
    expect(html).not.toContain('<b>ул. Новая');
  });

  it('filters by recipient as a tester types it, and answers JSON to scripts', async () => {
    const db = idp.runtime.database.db;
    await enqueueMessage(db, smsCode('79994445566', '445566'), clock.now());
    await enqueueMessage(db, smsCode('79997778899', '778899'), clock.now());

    const page = await (await fetch(`${idp.issuer}/dev/outbox?recipient=${encodeURIComponent('+7 (999) 444-55-66')}`)).text();
    expect(page).toContain('445566');
    expect(page).not.toContain('778899');
    expect(page).toContain('value="+7 (999) 444-55-66"');

    const response = await fetch(`${idp.issuer}/dev/outbox?recipient=8%20999%20777%2088%2099`, { headers: { accept: 'application/json' } });
    expect(response.headers.get('cache-control')).toBe('no-store');
    const json = (await response.json()) as { messages: unknown[] };
    expect(json).toMatchObject({ recipient: '79997778899', messages: [{ channel: 'sms', recipient: '79997778899', template: 'registration_code', status: 'queued', code: '778899', text: expect.stringContaining('778899') }] });
    expect(json.messages).toHaveLength(1);
  });

  it('does not exist when the development outbox is off (as in production)', async () => {
    const base = loadConfig({ NODE_ENV: 'test', ISSUER: 'http://127.0.0.1:9', PRUNE_INTERVAL_SECONDS: '0' });
    // loadConfig turns the outbox off only in production, which needs real secrets; the flag is what the route reads.
    const config: Config = { ...base, notifications: { ...base.notifications, devOutbox: false } };
    const testDatabase = await createTestDatabase();
    const runtime = await createIdpRuntime(config, { logger: silent, database: await openDatabase(testDatabase.settings) });
    try {
      await enqueueMessage(runtime.database.db, smsCode('79990001122', '112233'));
      const page = await request(runtime.provider.callback()).get('/dev/outbox');
      expect(page.status).toBe(404);
      expect(page.text).not.toContain('112233');
      const api = await request(runtime.provider.callback()).get('/dev/outbox').set('accept', 'application/json');
      expect(api.status).toBe(404);
      expect(api.body).toMatchObject({ error: 'error.not_found' });
    } finally {
      await runtime.close();
      await testDatabase.drop();
    }
  });
});

/**
 * Just enough of an SMTP server for nodemailer: records each mail; `replies` answers RCPT TO for
 * chosen addresses (e.g. a 550) instead of accepting them.
 */
async function startSmtpServer(replies: Record<string, string>) {
  const mails: Array<{ to: string[]; data: string }> = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setEncoding('utf8');
    let buffer = '';
    let inData = false;
    let to: string[] = [];
    socket.write('220 test ESMTP\r\n');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          mails.push({ to, data: buffer.slice(0, end) });
          buffer = buffer.slice(end + 5);
          inData = false;
          to = [];
          socket.write('250 2.0.0 queued\r\n');
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 test\r\n');
        else if (verb === 'MAIL' || verb === 'RSET' || verb === 'NOOP') socket.write('250 2.0.0 ok\r\n');
        else if (verb === 'RCPT') {
          const address = /<([^>]*)>/.exec(line)?.[1] ?? '';
          if (replies[address]) socket.write(`${replies[address]}\r\n`);
          else {
            to.push(address);
            socket.write('250 2.1.5 ok\r\n');
          }
        } else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') socket.end('221 bye\r\n');
        else socket.write('502 5.5.2 not implemented\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    mails,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Headers (unfolded, MIME encoded-words decoded) and the decoded body of a single-part mail. */
function parseMail(data: string): { headers: Record<string, string>; body: string } {
  const split = data.indexOf('\r\n\r\n');
  const headers: Record<string, string> = {};
  for (const line of data.slice(0, split).replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = decodeWords(line.slice(colon + 1).trim());
  }
  const raw = data.slice(split + 4);
  const encoding = headers['content-transfer-encoding']?.toLowerCase();
  const body = encoding === 'base64' ? Buffer.from(raw.replace(/\s+/g, ''), 'base64').toString('utf8')
    : encoding === 'quoted-printable' ? decodeQuotedPrintable(raw.replace(/=\r\n/g, ''))
      : raw;
  return { headers, body };
}

function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_, kind: string, text: string) =>
      kind.toLowerCase() === 'b' ? Buffer.from(text, 'base64').toString('utf8') : decodeQuotedPrintable(text.replace(/_/g, ' ')));
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '=' && /^[0-9A-F]{2}$/i.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(text[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}
