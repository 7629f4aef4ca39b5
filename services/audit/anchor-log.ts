import type { Logger } from 'pino';
import type { AuditTrail } from './audit-trail';
import { formatAnchor } from './verify-chain';

/**
 * Rows deleted from the end of a hash chain leave a shorter chain that is still valid: only a head
 * recorded somewhere else shows the loss. The bot writes the head to its log (shipped off the host, out of
 * reach of whoever can edit the database) at start and every `everyMs`; `npm run audit -- verify
 * --expect-head <anchor>` fails if that row is gone or was rewritten. Returns a function that stops it.
 */
export function logAuditAnchors(trail: AuditTrail, log: Logger, everyMs: number): () => void {
  const write = async () => {
    try {
      const head = await trail.head();
      log.info(
        { auditAnchor: formatAnchor(head), auditSeq: head.seq },
        'audit trail anchor (verify later with npm run audit -- verify --expect-head <auditAnchor>)',
      );
    } catch (err) {
      log.warn({ err: { message: (err as Error).message } }, 'audit trail anchor could not be read');
    }
  };
  void write();
  const timer = setInterval(() => void write(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
