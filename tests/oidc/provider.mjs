#!/usr/bin/env node
// A real OpenID provider for radflow's OIDC tests: panva/oidc-provider (an OpenID Certified
// implementation, pinned in package-lock.json), configured with static accounts carrying a
// `roles` claim, the browser client `radflow` (authorization code + PKCE, client_secret_basic)
// and service clients with client_credentials and JWT access tokens (RFC 9068). docs/oidc.md.
//
//   node provider.mjs genkey OUT.json [--alg RS256|PS256|ES256] [--kid ID]
//       writes a private signing JWK (node:crypto generateKeyPairSync)
//   node provider.mjs --port N --keys k1.json[,k2.json] --client-redirect URL
//       [--ttl-access S] [--client-secret S] [--worker-secret S] [--id-token-claims]
//       serves http://127.0.0.1:N; the first key signs, every key is published in the JWKS.
//       Prints "READY <issuer>" once listening; stops on SIGTERM.
//
// Accounts (any password; the dev login form): rad1 (radiologist), admin1 (administrator),
// multi1 (["guest", "technologist", "radiologist"]: the first role radflow knows wins), norole.
// Resources (RFC 8707 `resource` of the client_credentials request) and their JWT audience:
//   urn:radflow (default)  aud "radflow", TTL --ttl-access
//   urn:radflow:short      aud "radflow", TTL 1 s (the expiry test)
//   urn:other              aud "other-service" (the audience test)
// Service clients: ai-worker (roles ["ai-service"]), norole-worker (no roles), both with
// --worker-secret.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string' },
    keys: { type: 'string' },
    'client-redirect': { type: 'string' },
    'ttl-access': { type: 'string', default: '600' },
    'client-secret': { type: 'string', default: 'radflow-test-secret' },
    'worker-secret': { type: 'string', default: 'ai-worker-test-secret' },
    'id-token-claims': { type: 'boolean', default: false },
    alg: { type: 'string', default: 'RS256' },
    kid: { type: 'string' },
  },
});

if (positionals[0] === 'genkey') {
  const out = positionals[1];
  if (!out) throw new Error('genkey OUT.json');
  const alg = args.alg;
  const { privateKey } = alg === 'ES256'
    ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  jwk.kid = args.kid || crypto.randomBytes(8).toString('hex');
  jwk.alg = alg;
  jwk.use = 'sig';
  fs.writeFileSync(out, JSON.stringify(jwk), { mode: 0o600 });
  process.exit(0);
}

for (const required of ['port', 'keys', 'client-redirect']) {
  if (!args[required]) throw new Error(`--${required} is required`);
}
const port = Number(args.port);
const issuer = `http://127.0.0.1:${port}`;
const keys = args.keys.split(',').map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
const signingAlg = keys[0].alg || 'RS256';
const ttlAccess = Number(args['ttl-access']);

const ACCOUNTS = {
  rad1: { name: 'Rad One', roles: ['radiologist'] },
  admin1: { name: 'Admin One', roles: ['administrator'] },
  multi1: { name: 'Multi Role', roles: ['guest', 'technologist', 'radiologist'] },
  norole: { name: 'No Role', roles: [] },
};
const CLIENT_ROLES = { 'ai-worker': ['ai-service'], 'norole-worker': [] };
const RESOURCES = {
  'urn:radflow': { audience: 'radflow', ttl: ttlAccess },
  'urn:radflow:short': { audience: 'radflow', ttl: 1 },
  'urn:other': { audience: 'other-service', ttl: ttlAccess },
};

const workerClient = (id) => ({
  client_id: id,
  client_secret: args['worker-secret'],
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
  id_token_signed_response_alg: signingAlg,  // unused, but must fit the keys
});

const configuration = {
  clients: [
    {
      client_id: 'radflow',
      client_secret: args['client-secret'],
      redirect_uris: args['client-redirect'].split(','),
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: signingAlg,
    },
    workerClient('ai-worker'),
    workerClient('norole-worker'),
  ],
  jwks: { keys },
  cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
  // PKCE on every authorization code request: a relying party that forgets it fails here.
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    roles: ['roles'],
  },
  // The role claim in the ID token itself (otherwise only userinfo has it, the default).
  conformIdTokenClaims: !args['id-token-claims'],
  async findAccount(ctx, id) {
    const account = ACCOUNTS[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: account.name, roles: account.roles };
      },
    };
  },
  // A resource's own TTL (urn:radflow:short) wins over --ttl-access.
  ttl: {
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || ttlAccess,
    ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL || ttlAccess,
    IdToken: 3600,
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: (ctx, client, oneOf) => oneOf
        || (client.clientId in CLIENT_ROLES ? 'urn:radflow' : undefined),
      useGrantedResource: () => false,
      getResourceServerInfo(ctx, resourceIndicator) {
        const resource = RESOURCES[resourceIndicator];
        if (!resource) throw new errors.InvalidTarget();
        return {
          scope: 'api',
          audience: resource.audience,
          accessTokenTTL: resource.ttl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: signingAlg } },
        };
      },
    },
  },
  async extraTokenClaims(ctx, token) {
    if (token.kind === 'ClientCredentials') return { roles: CLIENT_ROLES[token.clientId] || [] };
    return undefined;
  },
};

const provider = new Provider(issuer, configuration);
const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`READY ${issuer}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
