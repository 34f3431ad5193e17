//! Every fixture in shared/x-api/fixtures decoded or mapped to its error.
