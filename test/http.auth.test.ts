/**
 * The monitoring API's bearer token, as a client sends it: the header forms RFC 6750 allows are taken, anything else
 * is refused with a 401 that says how to authenticate, and a token configured empty opens nothing.
 */
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { bearerAuth } from '../src/http/auth.js';

const TOKEN = 'auth-test-token-0123456789';

function app(token: string | undefined) {
  const server = express();
  server.get('/protected', bearerAuth(token), (_req, res) => void res.json({ ok: true }));
  return server;
}

describe('bearer authentication of the monitoring routes', () => {
  it.each([
    ['the canonical form', `Bearer ${TOKEN}`],
    ['the scheme in any case', `bearer ${TOKEN}`],
    ['more than one space or a tab after the scheme', `Bearer \t ${TOKEN}`],
    ['whitespace after the token', `Bearer ${TOKEN} \t`],
  ])('takes %s', async (_, header) => {
    await request(app(TOKEN)).get('/protected').set('Authorization', header).expect(200, { ok: true });
  });

  it.each([
    ['a scheme with something before it', `xBearer ${TOKEN}`],
    ['a second word after the token', `Bearer ${TOKEN} extra`],
    ['no space between scheme and token', `Bearer${TOKEN}`],
    ['another scheme', `Basic ${TOKEN}`],
  ])('refuses %s as a missing token, saying how to send one', async (_, header) => {
    const res = await request(app(TOKEN)).get('/protected').set('Authorization', header).expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="poolscope"');
    expect(res.body.error).toEqual({
      code: 'UNAUTHORIZED',
      message: 'Missing bearer token: send "Authorization: Bearer <MONITORING_TOKEN>"',
    });
  });

  it('refuses a wrong token as invalid, never echoing either token', async () => {
    const res = await request(app(TOKEN)).get('/protected').set('Authorization', 'Bearer not-the-token').expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="poolscope", error="invalid_token"');
    expect(res.body.error).toEqual({ code: 'UNAUTHORIZED', message: 'Invalid bearer token' });
    expect(JSON.stringify(res.body)).not.toContain(TOKEN);
  });

  it.each([
    ['no token', undefined],
    ['an empty token', ''],
  ])('with %s configured fails closed: 503 for every request, even one sending an empty bearer', async (_, token) => {
    for (const header of [`Bearer ${TOKEN}`, 'Bearer ', undefined]) {
      const req = request(app(token)).get('/protected');
      const res = await (header === undefined ? req : req.set('Authorization', header)).expect(503);
      expect(res.body.error.code).toBe('MONITORING_TOKEN_NOT_SET');
    }
  });
});
