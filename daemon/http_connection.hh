#pragma once

struct mg_connection;

namespace roster::daemon {

class http_api;

// Answers one request of the HTTP API on a CivetWeb connection (from the metrics server's
// begin_request callback, on one of its worker threads): reads the request, writes what
// api.handle() answers and, for /v1/watch, the stream until it ends (the client goes away, the
// stream's lifetime passes, the node stops). Returns the HTTP status written.
int answer_http(mg_connection* conn, http_api& api);

} // namespace roster::daemon
