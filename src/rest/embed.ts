import { AppError } from '../shared/app-error.ts';
import { COLLECTIONS, type CollectionName } from './person-access.ts';

/**
 * ESIA's `embed` parameter: `embed=(elements)` on a collection; on the person,
 * `embed=(contacts.elements,addresses)` — a collection name alone embeds its envelope (element
 * URLs), `<name>.elements` embeds the elements themselves. Anything else is a 400: a typo must
 * not silently give a smaller answer.
 */
export type PersonEmbed = Partial<Record<CollectionName, 'links' | 'elements'>>;

const LIST = /^\(([a-z.]+(?:,[a-z.]+)*)\)$/;

export function parsePersonEmbed(query: unknown): PersonEmbed {
  const embed: PersonEmbed = {};
  for (const item of embedItems(query)) {
    const [name, part, ...rest] = item.split('.');
    const collection = COLLECTIONS.find((c) => c === name);
    if (!collection || rest.length || (part !== undefined && part !== 'elements') || embed[collection]) throw invalidEmbed();
    embed[collection] = part ? 'elements' : 'links';
  }
  return embed;
}

/** `true` when a collection is asked for its elements inline. */
export function parseCollectionEmbed(query: unknown): boolean {
  const items = embedItems(query);
  if (items.length > 1 || (items.length === 1 && items[0] !== 'elements')) throw invalidEmbed();
  return items.length === 1;
}

function embedItems(query: unknown): string[] {
  if (query === undefined) return [];
  const match = typeof query === 'string' ? LIST.exec(query) : null;
  if (!match) throw invalidEmbed();
  return match[1].split(',');
}

function invalidEmbed(): AppError {
  return new AppError('rest.invalid_embed', 400, 'embed must look like (elements) on a collection, or (contacts.elements,addresses.elements,documents.elements) on a person');
}
