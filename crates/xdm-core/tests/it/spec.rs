//! Every request the endpoints build is allowed by the OpenAPI specs.
