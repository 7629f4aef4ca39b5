/**
 * The real card renderers for tests that build an Outbox. services/ never imports cards/ (the composition
 * root injects the summary renderer as the outbox's `renderSummary`), so tests beside the outbox take them here.
 */
export { type ApprovalCardData, renderApprovalCard } from '../../cards/approval-card';
export { renderSummaryCard as renderSummary } from '../../cards/summary/summary-card';
