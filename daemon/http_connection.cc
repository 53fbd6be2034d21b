#include "daemon/http_connection.hh"

#include <chrono>

#include <civetweb.h>
#include <fmt/format.h>

#include "daemon/http_api.hh"

namespace roster::daemon {

namespace {

const char* reason(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

bool write_all(mg_connection* conn, const std::string& s) {
    return s.empty() || mg_write(conn, s.data(), s.size()) == static_cast<int>(s.size());
}

} // namespace

int answer_http(mg_connection* conn, http_api& api) {
    const mg_request_info* info = mg_get_request_info(conn);
    http_request q;
    q.method = info->request_method != nullptr ? info->request_method : "";
    q.path = info->local_uri != nullptr ? info->local_uri : "";
    q.query = info->query_string != nullptr ? info->query_string : "";
    q.client = info->remote_addr;
    for (int i = 0; i < info->num_headers && i < MG_MAX_HEADERS; ++i) {
        if (info->http_headers[i].name != nullptr && info->http_headers[i].value != nullptr) {
            q.headers.emplace_back(info->http_headers[i].name, info->http_headers[i].value);
        }
    }
    const http_response r = api.handle(q, std::chrono::steady_clock::now());

    std::string head = fmt::format("HTTP/1.1 {} {}\r\n", r.status, reason(r.status));
    for (const auto& [name, value] : r.headers) {
        head += name + ": " + value + "\r\n";
    }
    if (r.stream) {
        // No length: the stream ends with the connection.
        head += "Connection: close\r\n\r\n";
        if (!write_all(conn, head) || r.head) {
            return r.status;
        }
        while (auto chunk = r.stream->next(std::chrono::steady_clock::now())) {
            if (!write_all(conn, *chunk)) {
                break; // the client went away
            }
        }
        return r.status;
    }
    const std::string& body = r.content();
    const bool with_body = !r.head && r.status != 304;
    // HEAD: the length a GET would have.
    head += fmt::format("Content-Length: {}\r\nConnection: close\r\n\r\n", r.status == 304 ? 0 : body.size());
    if (write_all(conn, head) && with_body) {
        write_all(conn, body);
    }
    return r.status;
}

} // namespace roster::daemon
