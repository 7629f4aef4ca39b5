// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are Adaptive Card template text, `${...}` bindings on purpose
/**
 * The compiled approval template renders exactly what adaptivecards-templating renders from the same
 * template and view model, for every view and status and for every optional block, and the subset it
 * compiles is enforced: anything else falls back to the engine.
 */
import { Template } from 'adaptivecards-templating';
import type { ApprovalCardData, ApprovalView } from './approval-card';
import type { RequestStatus } from '../services/approvals/request-lifecycle';
import approvalTemplate from './approval-request.json';
import { compileTemplate } from './compiled-template';

type Render = (data: ApprovalCardData, view: ApprovalView) => unknown;

/** renderApprovalCard as it renders, and as it renders with the engine alone (the compiler mocked away). */
function renderers(): { compiled: Render; engine: Render; engineCalls: () => number } {
  let compiled!: Render;
  let engine!: Render;
  let expand!: jest.SpyInstance;
  jest.isolateModules(() => {
    compiled = (require('./approval-card') as typeof import('./approval-card')).renderApprovalCard;
    expand = jest.spyOn((require('adaptivecards-templating') as typeof import('adaptivecards-templating')).Template.prototype, 'expand');
  });
  jest.isolateModules(() => {
    jest.doMock('./compiled-template', () => ({ compileTemplate: () => undefined }));
    engine = (require('./approval-card') as typeof import('./approval-card')).renderApprovalCard;
  });
  jest.dontMock('./compiled-template');
  return { compiled, engine, engineCalls: () => expand.mock.calls.length };
}

const VIEWS: ApprovalView[] = ['approver', 'requester', 'observer', 'final'];
const STATUSES: RequestStatus[] = ['pending', 'recording', 'approved', 'denied', 'expired', 'cancelled'];
const HOSTILE = 'see ${requester.userPrincipalName} and ${$root.requestId} **bold** ${1+1}';

function data(overrides: Partial<ApprovalCardData> = {}): ApprovalCardData {
  return {
    requestId: '0b8f6a3e-1c2d-4e5f-8a9b-000000000001',
    version: 7,
    requester: { displayName: 'Adele Vance', userPrincipalName: 'adelev@contoso.com', jobTitle: 'Security engineer', department: 'Security Operations' },
    role: { displayName: 'Security Operator', scope: 'Directory', kind: 'entraRole' },
    durationText: '4 hours',
    windowText: '2026-03-02 08:00 UTC – 2026-03-02 12:00 UTC',
    justification: 'Investigating incident INC0012345',
    ticket: { system: 'ServiceNow', number: 'INC0012345' },
    riskFlags: ['Off-hours request'],
    decisionReasons: ['Ticket INC0012345 is open'],
    expiresText: '23 h 41 min left',
    status: 'pending',
    decision: null,
    message: null,
    checkLines: [
      { name: 'ticket', result: 'pass', onFail: 'deny', summary: 'INC0012345 open' },
      { name: 'onCall', result: 'fail', onFail: 'review', summary: 'Not on call now' },
      { name: 'hr', result: 'unavailable', onFail: 'deny', summary: 'Workday did not answer' },
    ],
    identityRisk: {
      tone: 'warning',
      headline: 'Medium user risk',
      facts: [
        { title: 'State', value: 'at risk' },
        { title: 'Updated', value: '2026-03-02 06:00 UTC', at: '2026-03-02T06:00:00Z' },
      ],
      detections: [{ text: 'Anonymous IP address', at: '2026-03-02T06:00:00Z' }, { text: 'Leaked credentials' }],
    },
    history: {
      line: '5 activations in 90 days',
      firstActivation: false,
      details: [{ text: 'Last activation 3 days ago', at: '2026-02-27T09:00:00Z' }, { text: 'Denied once' }],
    },
    ...overrides,
  };
}

const VARIANTS: Array<[string, Partial<ApprovalCardData>]> = [
  ['every block', {}],
  ['no optional blocks', { ticket: null, riskFlags: [], decisionReasons: [], checkLines: [], identityRisk: null, history: null }],
  ['blocks absent (older rows)', { checkLines: undefined, identityRisk: undefined, history: undefined }],
  ['no requester detail', { requester: { displayName: 'Alex Wilber', userPrincipalName: 'alexw@contoso.com', jobTitle: null, department: null } }],
  ['a message', { message: 'Only approvers of Security Operator in PIM can decide on this request.' }],
  ['first activation, no details', { history: { line: 'No activation in 90 days', firstActivation: true, details: [] } }],
  ['risk without detections', { identityRisk: { tone: 'good', headline: 'No identity risk', facts: [], detections: [] } }],
  [
    'hostile user text',
    { justification: HOSTILE, riskFlags: [HOSTILE], decisionReasons: [HOSTILE], requester: { displayName: HOSTILE, userPrincipalName: HOSTILE } },
  ],
  ['a group', { role: { displayName: 'SQL Admins (member)', scope: 'Group 1234', kind: 'group' } }],
  ['an Azure role', { role: { displayName: 'Contributor', scope: '/subscriptions/x', kind: 'azureResource' } }],
];

describe('the compiled approval template', () => {
  const { compiled, engine, engineCalls } = renderers();

  it('compiles the approval template', () => {
    expect(compileTemplate(approvalTemplate)).toBeDefined();
  });

  for (const [name, overrides] of VARIANTS) {
    it(`renders what the templating engine renders: ${name}, every status and view`, () => {
      for (const status of STATUSES) {
        const decision =
          status === 'approved' || status === 'denied'
            ? {
                byDisplayName: 'Megan Bowen',
                byUserPrincipalName: 'meganb@contoso.com',
                atText: '2026-03-02 08:05 UTC',
                justification: 'Checked with the requester',
              }
            : null;
        for (const view of VIEWS) {
          const d = data({ status, decision, ...overrides });
          const calls = engineCalls();
          const card = compiled(d, view);
          // Rendered by the compiled template, not handed back to the engine.
          expect(engineCalls()).toBe(calls);
          expect(card).toStrictEqual(engine(d, view));
        }
      }
    });
  }

  it('gives the engine anything outside its subset', () => {
    expect(compileTemplate({ type: 'AdaptiveCard', body: [{ type: 'TextBlock', text: '${if(a, b, c)}' }] })).toBeUndefined();
    expect(compileTemplate({ type: 'AdaptiveCard', body: [{ type: 'TextBlock', text: '${a[0]}' }] })).toBeUndefined();
    expect(compileTemplate({ type: 'AdaptiveCard', refresh: { $data: '${x}', action: {} } })).toBeUndefined();
  });

  it('leaves a render whose data lacks a value to the engine', () => {
    const render = compileTemplate({ type: 'AdaptiveCard', body: [{ type: 'TextBlock', text: '${title}' }] })!;
    expect(render({ title: 'Hello' })).toEqual({ type: 'AdaptiveCard', body: [{ type: 'TextBlock', text: 'Hello' }] });
    expect(render({})).toBeUndefined();
    expect(render({ title: null })).toBeUndefined();
  });

  it('keeps a whole binding typed and drops entries a false $when guards, as the engine does', () => {
    const template = {
      type: 'AdaptiveCard',
      refresh: { $when: '${open}', action: { data: { version: '${version}' } } },
      body: [
        { $when: '${open}', type: 'TextBlock', text: 'open' },
        { $data: '${lines}', type: 'TextBlock', text: '• ${$data}' },
      ],
    };
    const render = compileTemplate(template)!;
    for (const root of [
      { open: true, version: 3, lines: ['a', 'b'] },
      { open: false, version: 3, lines: [] },
    ]) {
      expect(render(root)).toStrictEqual(new Template(template).expand({ $root: root }));
    }
  });
});
