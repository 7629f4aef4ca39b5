import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import forge from 'node-forge';
import { ensurePki } from './pki';

describe('simulator PKI', () => {
  it('creates a CA and a loopback leaf once, then reuses them', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-pki-'));
    try {
      const first = ensurePki(dir);
      const ca = forge.pki.certificateFromPem(first.caPem);
      const leaf = forge.pki.certificateFromPem(first.certPem);
      expect(ca.verify(leaf)).toBe(true);
      expect((ca.getExtension('basicConstraints') as { cA?: boolean }).cA).toBe(true);
      const san = leaf.getExtension('subjectAltName') as { altNames: Array<{ type: number; value?: string; ip?: string }> };
      expect(san.altNames).toEqual(
        expect.arrayContaining([expect.objectContaining({ type: 2, value: 'localhost' }), expect.objectContaining({ type: 7, ip: '127.0.0.1' })]),
      );
      expect(first.caCertPath).toBe(path.join(dir, 'ca.pem'));
      const second = ensurePki(dir);
      expect(second.caPem).toBe(first.caPem);
      expect(second.certPem).toBe(first.certPem);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
