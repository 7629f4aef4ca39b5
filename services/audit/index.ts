export { AuditTrail, appendAudit, boundedDetails, chainRow, type AuditEntry, type AuditKind } from './audit-trail';
export { canonicalJson, chainHash, GENESIS_HASH, type JsonValue } from './canonical';
export * from './entries';
export { writeExport, csvField, csvRecord, jsonRecord, CSV_COLUMNS, type ExportFormat } from './export';
export { ChainVerifier, verifyChain, parseAnchor, formatAnchor, type ChainAnchor, type ChainProblem, type ChainResult, type AuditRow } from './verify-chain';
