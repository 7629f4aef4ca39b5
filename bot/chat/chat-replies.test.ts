import pino from 'pino';
import { emptyValues } from '../../services/chat/chat-drafts';
import { allText } from '../../test/support/card-json';
import { ChatReplies, type ChatCommandDeps } from './chat-replies';

const NAMES: Record<string, string> = { 'u-megan': 'Megan Bowen', 'u-patti': 'Patti Fernandez' };

function replies(): ChatReplies {
  const directory = {
    user: async (id: string) => ({ id, displayName: NAMES[id] ?? id, userPrincipalName: `${id}@contoso.example` }),
    activationPolicy: async () => {
      throw new Error('not used');
    },
    roleNames: async () => [],
  } as unknown as ChatCommandDeps['directory'];
  return new ChatReplies({ directory, log: pino({ level: 'silent' }) } as unknown as ChatCommandDeps);
}

describe('the activation form', () => {
  const policy = {
    maximumMinutes: 240,
    justificationRequired: true,
    ticketRequired: false,
    mfaRequired: false,
    authenticationContext: null,
    approvalRequired: true,
    approverIds: ['u-megan', 'u-patti'],
  };
  const target = { kind: 'entraRole' as const, roleDefinitionId: 'r1', scope: '/', displayName: 'Security Operator' };

  it('never lists the requester among who approves: PIM does not let anyone approve their own request', async () => {
    const card = await replies().form('U-MEGAN', 'd1', target, policy, emptyValues(), [], true);
    expect(allText(card)).toContain('needs approval by Patti Fernandez');
    expect(allText(card)).not.toContain('Megan Bowen');
  });

  it('lists every approver to someone who is not one', async () => {
    const card = await replies().form('u-alex', 'd1', target, policy, emptyValues(), [], true);
    expect(allText(card)).toContain('needs approval by Megan Bowen, Patti Fernandez');
  });
});
