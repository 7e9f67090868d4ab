import Router from '@koa/router';
import { formatDateRu, formatSnils } from '../shared/validators.ts';
import { refreshBinding } from './binding.service.ts';
import { findBinding, findSyncedProfile } from './bindings.repository.ts';
import { text } from './personal-data.form.ts';
import { disconnectedMessage } from './settings.routes.ts';
import { formBody, log, page, requireSession, type MosruDeps } from './web.ts';

export const SPECIALITIES = ['Терапевт', 'Офтальмолог', 'Хирург', 'Стоматолог'];
const REQUIRED: Array<[string, string]> = [
  ['fullName', 'Укажите ФИО'],
  ['birthDate', 'Укажите дату рождения'],
  ['snils', 'Укажите СНИЛС'],
  ['address', 'Укажите адрес регистрации'],
];

/**
 * «Запись к врачу», a Mos.ru service that uses the data synced from Госуслуги: the form comes
 * filled in when the account is bound, and empty (with a hint to connect) when it is not.
 */
export function servicesRoutes(deps: MosruDeps): Router {
  const { db } = deps;
  const router = new Router({ prefix: '/services' });

  router.get('/doctor', async (ctx) => {
    const session = requireSession(ctx);
    if (!session) return;
    await refreshBinding(deps, log(ctx), session.account.id);
    const [binding, synced] = await Promise.all([findBinding(db, session.account.id), findSyncedProfile(db, session.account.id)]);
    const connected = binding?.status === 'connected' && synced !== undefined;
    const values: Record<string, string> = {};
    if (connected) {
      values.fullName = [synced.last_name, synced.first_name, synced.middle_name].filter(Boolean).join(' ');
      if (synced.birth_date) values.birthDate = formatDateRu(synced.birth_date);
      if (synced.snils) values.snils = formatSnils(synced.snils);
      const registration = synced.addresses.find((a) => a.type === 'PRG');
      if (registration) values.address = registration.addressStr;
      if (synced.medical_policy) values.policy = [synced.medical_policy.series, synced.medical_policy.number].filter(Boolean).join(' ');
      if (synced.phone) values.phone = synced.phone;
    }
    page(ctx, deps, 'doctor.njk', {
      values,
      errors: {},
      connected,
      prefilled: Object.keys(values),
      disconnected: binding?.status === 'disconnected' ? disconnectedMessage(binding) : undefined,
      specialities: SPECIALITIES,
    });
  });

  router.post('/doctor', async (ctx) => {
    const session = requireSession(ctx);
    if (!session) return;
    const body = formBody(ctx);
    const values = Object.fromEntries(['fullName', 'birthDate', 'snils', 'address', 'policy', 'phone', 'speciality'].map((key) => [key, text(body[key]).trim()]));
    const errors: Record<string, string> = {};
    for (const [field, message] of REQUIRED) if (!values[field]) errors[field] = message;
    if (!SPECIALITIES.includes(values.speciality)) errors.speciality = 'Выберите специалиста';
    if (Object.keys(errors).length > 0) {
      page(ctx, deps, 'doctor.njk', { values, errors, connected: false, prefilled: [], specialities: SPECIALITIES }, 400);
      return;
    }
    // A demo: the appointment is acknowledged, not kept.
    log(ctx).info({ accountId: session.account.id, speciality: values.speciality }, 'doctor appointment requested');
    page(ctx, deps, 'doctor-done.njk', { speciality: values.speciality });
  });

  return router;
}
