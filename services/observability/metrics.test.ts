import { PrometheusMetrics, type ScrapeSources } from './metrics';
import { decidingRule } from './evaluation-labels';
import type { CheckResult, Verdict } from '../decision/evaluate-activation';

const sources = (over: Partial<ScrapeSources> = {}): ScrapeSources => ({
  pendingByAge: async () => ({ lt_15m: 2, '15m_1h': 1, '1h_4h': 0, '4h_12h': 0, '12h_24h': 3, gt_24h: 0 }),
  outbox: async () => ({ depth: 4, oldestAgeSeconds: 12.5, failed: 1 }),
  ...over,
});

describe('Prometheus metrics', () => {
  it('renders our counters, the histogram and the database gauges in the text format', async () => {
    const m = new PrometheusMetrics(sources(), { defaultMetrics: false });
    m.evaluation({ outcome: 'Denied', rule: 'ticket', seconds: 0.04 });
    m.evaluation({ outcome: 'Denied', rule: 'ticket', seconds: 0.2 });
    m.nudge('escalation');
    m.apiResponse('graph', 429);
    m.apiResponse('graph', 200);
    m.apiResponse('arm', null);
    m.teamsThrottled();
    m.teamsSend('sent');
    m.cardAction('approval', 200);
    const { contentType, body } = await m.render();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('pim_evaluations_total{outcome="Denied",rule="ticket"} 2');
    expect(body).toContain('pim_decision_duration_seconds_bucket{le="0.05",outcome="Denied"} 1');
    expect(body).toContain('pim_decision_duration_seconds_count{outcome="Denied"} 2');
    expect(body).toContain('pim_nudges_total{kind="escalation"} 1');
    expect(body).toContain('graph_throttled_total{api="graph"} 1');
    expect(body).toContain('graph_throttled_total{api="arm"} 0');
    expect(body).toContain('graph_requests_total{api="graph",status_class="2xx"} 1');
    expect(body).toContain('graph_requests_total{api="arm",status_class="error"} 1');
    expect(body).toContain('teams_throttled_total 1');
    expect(body).toContain('teams_outbox_sends_total{result="sent"} 1');
    expect(body).toContain('pim_card_actions_total{handler="approval",status_class="2xx"} 1');
    expect(body).toContain('pim_pending_requests{age_bucket="12h_24h"} 3');
    expect(body).toContain('pim_pending_requests{age_bucket="1h_4h"} 0');
    expect(body).toContain('outbox_depth 4');
    expect(body).toContain('outbox_oldest_age_seconds 12.5');
    expect(body).toContain('outbox_failed_messages 1');
  });

  it('adds the default process metrics unless told not to', async () => {
    expect((await new PrometheusMetrics(null).render()).body).toContain('process_cpu_user_seconds_total');
    expect((await new PrometheusMetrics(null, { defaultMetrics: false }).render()).body).not.toContain('process_cpu_user_seconds_total');
  });

  it('a database that cannot be read leaves its gauges out instead of failing the scrape', async () => {
    const errors: string[] = [];
    const m = new PrometheusMetrics(
      sources({
        pendingByAge: async () => {
          throw new Error('connection refused');
        },
      }),
      { defaultMetrics: false, onScrapeError: (what) => errors.push(what) },
    );
    const { body } = await m.render();
    expect(body).not.toMatch(/^pim_pending_requests\{/m);
    expect(body).toContain('outbox_depth 4');
    expect(errors).toEqual(['pending requests']);
  });

  it('two registries do not share counts', async () => {
    const a = new PrometheusMetrics(null, { defaultMetrics: false });
    const b = new PrometheusMetrics(null, { defaultMetrics: false });
    a.teamsThrottled();
    expect((await b.render()).body).toContain('teams_throttled_total 0');
  });
});

describe('the deciding rule of an evaluation', () => {
  const check = (name: CheckResult['name'], result: CheckResult['result'] | 'flag'): CheckResult => ({
    name,
    result: result === 'flag' ? 'fail' : result,
    onFail: result === 'flag' ? 'review' : 'deny',
    detail: '',
    summary: '',
    evidence: [],
    latencyMs: 0,
  });
  const verdict = (wouldBe: Verdict['wouldBe'], checks: CheckResult[], humanOnly = false): Verdict => ({
    outcome: wouldBe,
    wouldBe,
    mode: 'enforce',
    row: 0,
    humanOnly,
    reasons: [],
    riskFlags: [],
    checks,
  });

  it.each([
    ['a failed check denies', verdict('Denied', [check('justification', 'pass'), check('ticket', 'fail')]), 'ticket'],
    ['auto-approval', verdict('AutoApproved', [check('ticket', 'pass'), check('onCall', 'pass')]), 'autoApprove'],
    ['a human-only role', verdict('Approved', [check('ticket', 'unavailable')], true), 'humanOnlyRole'],
    ['an unavailable check before a flag', verdict('Approved', [check('justification', 'flag'), check('onCall', 'unavailable')]), 'onCall'],
    ['a flag', verdict('Approved', [check('justification', 'flag')]), 'justification'],
    ['nothing stood out', verdict('Approved', [check('justification', 'pass')]), 'default'],
    ['the checks overran the budget', verdict('Approved', []), 'budget'],
  ])('%s', (_name, v, rule) => {
    expect(decidingRule(v)).toBe(rule);
  });
});
