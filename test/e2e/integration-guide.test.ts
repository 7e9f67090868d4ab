import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestIdp, type TestIdp } from '../support/idp.ts';
import { BrowserSession, formAction } from '../support/browser-session.ts';
import { giveIdentity } from '../support/identity.ts';
import { finishSignIn, startSignIn } from '../../docs/examples/sign-in-with-esia.ts';

describe('docs/integration.md: the openid-client example', () => {
  let idp: TestIdp;
  beforeAll(async () => {
    idp = await startTestIdp();
  });
  afterAll(() => idp?.close());

  it('signs a standard citizen in and reads the person API, exactly as the guide shows', async () => {
    const client = await idp.makeClient({ name: 'Пример из руководства', scopes: 'openid fullname birthdate snils' });
    const citizen = await idp.makeCitizen({ lastName: 'Соколов', firstName: 'Андрей', middleName: 'Ильич' });
    await giveIdentity(idp.runtime.database.db, citizen.oid, { verifiedAs: 'standard', snils: '11223344595' });

    const started = await startSignIn(idp.issuer, client.clientId, client.clientSecret!, client.redirectUri);
    const browser = new BrowserSession();
    const loginPage = await browser.open(started.url.toString());
    const consentPage = await browser.submit(formAction(loginPage, '/login'), { login: citizen.login, password: citizen.password });
    const back = await browser.submit(formAction(consentPage, '/confirm'), { agree: 'yes' }, (url) => url.startsWith(client.redirectUri));

    const result = await finishSignIn(started, new URL(back.url));
    expect(result.oid).toBe(citizen.oid);
    expect(result.acr).toBe('standard');
    expect(result.person).toMatchObject({ lastName: 'Соколов', firstName: 'Андрей', middleName: 'Ильич', birthDate: '12.04.1985', snils: '112-233-445 95', trusted: false });
    expect(result.userinfo).toMatchObject({ sub: citizen.oid, family_name: 'Соколов', 'urn:esia:snils': '112-233-445 95' });
  });
});
