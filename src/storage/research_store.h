// Owner: see /tmp/contract18.md. SCAFFOLD.
