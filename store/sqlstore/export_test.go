package sqlstore

// PGSchemaURL lets the external tests (package sqlstore_test) use the same
// per-test schema as the internal ones.
var PGSchemaURL = pgSchemaURL
