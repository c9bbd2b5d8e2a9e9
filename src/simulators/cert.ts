export interface SelfSignedCert {
  /** PEM private key, for the server. */
  key: string;
  /** PEM certificate, for the server and for clients to trust (`connect: { ca: cert }`). */
  cert: string;
}

let cached: Promise<SelfSignedCert> | undefined;

/**
 * A self-signed RSA-2048 certificate valid for `127.0.0.1` and `localhost`, made once per process
 * (key generation costs ~0.2-0.4 s, so every TLS simulator in a process shares it).
 */
export function selfSignedCert(): Promise<SelfSignedCert> {
  cached ??= generate();
  return cached;
}

async function generate(): Promise<SelfSignedCert> {
  // Loaded lazily: `selfsigned` is a dev dependency, and plain-HTTP users never need it.
  const selfsigned = await import('selfsigned');
  return selfsigned
    .generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'rsa',
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 7, ip: '127.0.0.1' },
            { type: 2, value: 'localhost' },
          ],
        },
      ],
    })
    .then(
      (pems) => ({ key: pems.private, cert: pems.cert }),
      (error: unknown) => {
        cached = undefined; // let the next caller try again rather than caching the failure
        throw error;
      },
    );
}
