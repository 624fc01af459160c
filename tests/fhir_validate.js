// Validate FHIR R4 JSON documents with FHIR.js (the `fhir` npm package), independently
// of the Python side. FHIR.js ships the R4 structure definitions only, so R5 documents
// are validated by fhir.resources alone (tests/test_fhir_validators.py).
//
// Usage: NODE_PATH=.ci-node/node_modules node tests/fhir_validate.js FILE...
// Prints one JSON object: {"FILE": [{"severity", "location", "message"}, ...], ...}
// listing the error messages of each file (an empty list: valid).
"use strict";
const fs = require("fs");
const { Fhir } = require("fhir");

const fhir = new Fhir();
const out = {};
for (const file of process.argv.slice(2)) {
  const doc = JSON.parse(fs.readFileSync(file, "utf8"));
  const result = fhir.validate(doc, { errorOnUnexpected: true });
  out[file] = result.messages
    .filter((m) => m.severity === "error")
    .map((m) => ({ severity: m.severity, location: m.location, message: m.message }));
}
process.stdout.write(JSON.stringify(out) + "\n");
