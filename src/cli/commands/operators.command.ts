import { grantOperatorRole, listOperators, revokeOperatorRole } from '../../operator/operator.service.ts';
import { CliError, requiredString, type CliCommand } from '../command.ts';
import { table, timestamp } from '../output.ts';

export const operatorsAddCommand: CliCommand = {
  name: 'operators add',
  summary: 'Let a citizen work the service-centre desk (/operator)',
  usage: '--oid <oid> --centre "<service centre>"',
  optionHelp: [
    ['--oid <oid>', 'The citizen who becomes an operator (they sign in with their own account)'],
    ['--centre <name>', 'The service centre recorded with every confirmation they make'],
  ],
  options: { oid: { type: 'string' }, centre: { type: 'string' } },
  async run(context, args) {
    const citizenOid = requiredString(args, 'oid', 'operators add');
    const serviceCentre = requiredString(args, 'centre', 'operators add');
    const granted = await grantOperatorRole(await context.database(), { citizenOid, serviceCentre });
    return { json: granted, text: `OID ${granted.citizenOid} is now an operator at «${granted.serviceCentre}».` };
  },
};

export const operatorsListCommand: CliCommand = {
  name: 'operators list',
  summary: 'List operators',
  usage: '',
  options: {},
  async run(context) {
    const operators = await listOperators(await context.database());
    return {
      json: operators,
      text: operators.length ? table(['OID', 'SERVICE CENTRE', 'SINCE'], operators.map((o) => [o.citizenOid, o.serviceCentre, timestamp(o.createdAt)])) : 'No operators.',
    };
  },
};

export const operatorsRemoveCommand: CliCommand = {
  name: 'operators remove',
  summary: 'Take the operator role away',
  usage: '<oid>',
  options: {},
  positionals: { min: 1, max: 1, names: '<oid>' },
  async run(context, args) {
    const citizenOid = args.positionals[0];
    if (!(await revokeOperatorRole(await context.database(), { citizenOid }))) throw new CliError('operator.not_found', `OID ${citizenOid} is not an operator`);
    return { json: { removed: citizenOid }, text: `OID ${citizenOid} is no longer an operator.` };
  },
};
