import { messages as registration } from '../registration/messages.ts';
import { messages as recovery } from '../recovery/messages.ts';
import { messages as account } from '../account/messages.ts';
import { messages as verification } from '../verification/messages.ts';
import { messages as operator } from '../operator/messages.ts';
import { messages as notifications } from '../notifications/messages.ts';
import { messages as security } from '../security/messages.ts';
import { messages as sessions } from '../sessions/messages.ts';
import { messages as merge } from '../merge/messages.ts';
import { messages as family } from '../family/messages.ts';
import { messages as organisations } from '../organisations/messages.ts';
import { messages as powers } from '../powers/messages.ts';
import { messages as acting } from '../acting/messages.ts';

/** The areas' message bundles, merged into the catalogues by i18n.ts. */
export const AREA_MESSAGES: Array<{ ru: Record<string, string>; en: Record<string, string> }> = [registration, recovery, account, verification, operator, notifications, sessions, security, merge, family, organisations, powers, acting];
