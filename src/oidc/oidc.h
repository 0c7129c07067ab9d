// OpenID Connect: discovery, JWKS with key rotation, bearer JWT verification and the
// authorization code flow with PKCE (docs/oidc.md). Owner: H2. SCAFFOLD.
#pragma once

namespace radflow::oidc {}
