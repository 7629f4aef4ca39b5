/**
 * The product modules the bot child uses, found in whichever layout the tree it runs in has: the bench also
 * runs this harness inside an older commit's tree (lib/before.ts), where a module may sit at its earlier
 * path or the store may name a method differently. Each entry lists the current path first.
 */
import path from 'node:path';

/** The tree's root: this file is scripts/bench/lib/product.ts in it. */
const TREE = path.join(__dirname, '..', '..', '..');

function firstOf<T>(candidates: readonly string[]): T {
  const missing: string[] = [];
  for (const rel of candidates) {
    const file = path.join(TREE, rel);
    try {
      require.resolve(file);
    } catch {
      missing.push(rel);
      continue;
    }
    return require(file) as T;
  }
  throw new Error(`none of ${missing.join(', ')} is in the tree at ${TREE}`);
}

type RowModule = typeof import('../../../services/approvals/approval-request-row');

/** newApprovalRequestRow and newEvaluationRow, wherever the tree keeps them. */
export function rowBuilders(): RowModule {
  return firstOf<RowModule>(['services/approvals/approval-request-row', 'bot/approval-request-row']);
}

interface RowLike {
  id: string;
  version: number;
  status: string;
}

/** The approval row for a PIM request id, through the store's API of the tree (split by aggregate, or not yet). */
export async function requestByPimId(store: unknown, pimId: string): Promise<RowLike | undefined> {
  const s = store as {
    requests?: { byPimId(id: string): Promise<RowLike | undefined> };
    getRequestByPimId?(id: string): Promise<RowLike | undefined>;
  };
  if (s.requests) return s.requests.byPimId(pimId);
  if (s.getRequestByPimId) return s.getRequestByPimId(pimId);
  throw new Error('the store has neither requests.byPimId nor getRequestByPimId');
}
