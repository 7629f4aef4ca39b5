import fs from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';

export interface SimPki {
  caCertPath: string;
  caPem: string;
  certPem: string;
  keyPem: string;
}

const FILES = { ca: 'ca.pem', caKey: 'ca-key.pem', cert: 'sim.pem', key: 'sim-key.pem' } as const;

function serial(): string {
  // A positive serial: leading byte below 0x80 so DER does not read it as negative.
  return `01${forge.util.bytesToHex(forge.random.getBytesSync(15))}`;
}

function validity(cert: forge.pki.Certificate, years: number): void {
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 24 * 3600 * 1000);
  cert.validity.notAfter = new Date(now.getTime() + years * 365 * 24 * 3600 * 1000);
}

function makeCa(): { certPem: string; keyPem: string } {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, 10);
  const subject = [
    { name: 'commonName', value: 'PIM approvals simulator local CA' },
    { name: 'organizationName', value: 'pim-approvals-bot dev' },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

function makeLeaf(caCertPem: string, caKeyPem: string): { certPem: string; keyPem: string } {
  const caCert = forge.pki.certificateFromPem(caCertPem);
  const caKey = forge.pki.privateKeyFromPem(caKeyPem);
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  // Node rejects leaf certificates valid for more than ~825 days on some platforms; stay under it.
  validity(cert, 2);
  cert.setSubject([{ name: 'commonName', value: 'localhost' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: 'localhost' },
        { type: 7, ip: '127.0.0.1' },
      ],
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

/**
 * Creates the simulator's CA and TLS leaf once and reuses them afterwards: processes started earlier
 * with NODE_EXTRA_CA_CERTS pointing at ca.pem must keep trusting the server across restarts.
 */
export function ensurePki(dir: string): SimPki {
  fs.mkdirSync(dir, { recursive: true });
  const p = (f: string) => path.join(dir, f);
  const exists = (f: string) => fs.existsSync(p(f));

  if (!exists(FILES.ca) || !exists(FILES.caKey)) {
    const ca = makeCa();
    fs.writeFileSync(p(FILES.ca), ca.certPem);
    fs.writeFileSync(p(FILES.caKey), ca.keyPem, { mode: 0o600 });
    // A new CA invalidates any old leaf.
    for (const f of [FILES.cert, FILES.key]) if (exists(f)) fs.rmSync(p(f));
  }
  const caPem = fs.readFileSync(p(FILES.ca), 'utf8');
  if (!exists(FILES.cert) || !exists(FILES.key) || !leafMatchesCa(fs.readFileSync(p(FILES.cert), 'utf8'), caPem)) {
    const leaf = makeLeaf(caPem, fs.readFileSync(p(FILES.caKey), 'utf8'));
    fs.writeFileSync(p(FILES.cert), leaf.certPem);
    fs.writeFileSync(p(FILES.key), leaf.keyPem, { mode: 0o600 });
  }
  return {
    caCertPath: path.resolve(p(FILES.ca)),
    caPem,
    certPem: fs.readFileSync(p(FILES.cert), 'utf8'),
    keyPem: fs.readFileSync(p(FILES.key), 'utf8'),
  };
}

function leafMatchesCa(leafPem: string, caPem: string): boolean {
  try {
    const ca = forge.pki.certificateFromPem(caPem);
    const leaf = forge.pki.certificateFromPem(leafPem);
    return ca.verify(leaf) && leaf.validity.notAfter.getTime() > Date.now() + 24 * 3600 * 1000;
  } catch {
    return false;
  }
}
