import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { EventShapeError, parseInboundEvent } from './inbound-event';

const schema = JSON.parse(readFileSync(join(__dirname, '../../docs/events.schema.json'), 'utf8')) as { examples: Record<string, unknown>[] };
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
const validateDoc = ajv.compile(schema);

const entraRequest = {
  '@odata.type': '#microsoft.graph.unifiedRoleAssignmentScheduleRequest',
  id: '10000000-0000-4000-8000-000000000001',
  action: 'selfActivate',
  principalId: '20000000-0000-4000-8000-000000000002',
  roleDefinitionId: '30000000-0000-4000-8000-000000000003',
};
const base = { eventId: 'evt-1', occurredAt: '2026-03-02T08:00:00Z', request: entraRequest };

function fieldOf(body: unknown): string {
  try {
    parseInboundEvent(body);
  } catch (err) {
    if (err instanceof EventShapeError) return err.field;
    throw err;
  }
  return 'accepted';
}

describe('the inbound event schema', () => {
  const valid: Array<[string, unknown]> = [
    ['an escalation with reasons', { ...base, type: 'escalation', reasons: ['Outside the change window.'] }],
    [
      'a denial with the decider',
      { ...base, type: 'postApproval', outcome: 'denied', decidedBy: { id: 'x1', displayName: 'Megan Bowen' }, justification: 'No change ticket' },
    ],
    ['an activation with its end', { ...base, type: 'postApproval', outcome: 'activated', activeUntil: '2026-03-02T12:00:00+01:00' }],
    [
      'a group request',
      {
        ...base,
        type: 'escalation',
        request: {
          id: entraRequest.id,
          action: 'selfActivate',
          principalId: entraRequest.principalId,
          accessId: 'member',
          groupId: '50000000-0000-4000-8000-000000000005',
        },
      },
    ],
    ...schema.examples.map((e, i) => [`documented example ${i + 1}`, e] as [string, unknown]),
  ];
  it.each(valid)('accepts %s, and so does the documented JSON Schema', (_name, body) => {
    expect(fieldOf(body)).toBe('accepted');
    expect(validateDoc(body)).toBe(true);
  });

  const invalid: Array<[string, unknown, string]> = [
    ['no eventId', { ...base, eventId: undefined, type: 'escalation' }, 'eventId'],
    ['an empty eventId', { ...base, eventId: '', type: 'escalation' }, 'eventId'],
    ['an eventId over 128 characters', { ...base, eventId: 'e'.repeat(129), type: 'escalation' }, 'eventId'],
    ['an unknown type', { ...base, type: 'approval' }, 'type'],
    ['a date without time zone', { ...base, type: 'escalation', occurredAt: '2026-03-02 08:00' }, 'occurredAt'],
    ['a zone offset no place has', { ...base, type: 'escalation', occurredAt: '2026-03-02T08:00:00+25:00' }, 'occurredAt'],
    [
      'an end whose zone offset names no instant',
      { ...base, type: 'postApproval', outcome: 'activated', activeUntil: '2026-03-02T12:00:00+23:60' },
      'activeUntil',
    ],
    ['a postApproval without outcome', { ...base, type: 'postApproval' }, 'outcome'],
    ['an escalation with an outcome', { ...base, type: 'escalation', outcome: 'granted' }, 'outcome'],
    ['an unknown outcome', { ...base, type: 'postApproval', outcome: 'approved' }, 'outcome'],
    ['a request of no known shape', { ...base, type: 'escalation', request: { hello: 'world' } }, 'request'],
    ['a request with a bad principal id', { ...base, type: 'escalation', request: { ...entraRequest, principalId: 'isaiah' } }, 'request'],
    ['a decider without id', { ...base, type: 'postApproval', outcome: 'denied', decidedBy: { displayName: 'Megan' } }, 'decidedBy.id'],
    ['reasons that are not strings', { ...base, type: 'escalation', reasons: [42] }, 'reasons.0'],
    ['an unknown field', { ...base, type: 'escalation', reason: ['typo'] }, ''],
  ];
  it.each(invalid)('refuses %s, naming the field, and so does the documented JSON Schema', (_name, body, field) => {
    expect(fieldOf(body)).toBe(field);
    expect(validateDoc(JSON.parse(JSON.stringify(body)))).toBe(false);
  });

  it('refuses a body that is not an object', () => {
    expect(fieldOf([base])).toBe('');
    expect(fieldOf(null)).toBe('');
  });

  it('normalises the request as the decision endpoint does', () => {
    const e = parseInboundEvent({ ...base, type: 'escalation', request: { ...entraRequest, principalId: entraRequest.principalId.toUpperCase() } });
    expect(e.request).toMatchObject({
      kind: 'entraRole',
      pimRequestId: entraRequest.id,
      requestKey: `entraRole:${entraRequest.id}`,
      principalId: entraRequest.principalId,
    });
  });
});
