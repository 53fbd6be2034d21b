#pragma once

// Inside the client library only: one request and its reply to one endpoint, with client.cc's
// connection handling (CURVE, a refused connection and a failed handshake named, link timing), for
// the requests of other files of the library (admin.cc). Not part of the public API.

#include <chrono>
#include <string>

#include "client/client.hh"
#include "common/result.hh"
#include "membership/messages.hh"

namespace roster::client::detail {

// Sends `q` to `endpoint` (HOST:PORT, or ID@HOST:PORT whose key is in o.voter_keys) and waits up to
// `bound` for the reply with its request id; or says why there is none.
result<membership::remove_reply, std::string> ask_remove(const options& o, const std::string& endpoint,
                                                        const membership::remove_request& q,
                                                        std::chrono::milliseconds bound);

} // namespace roster::client::detail
