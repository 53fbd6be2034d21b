#include "client/admin.hh"

#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <zmq.hpp>

#include "client/links.hh"
#include "wire/codec.hh"

namespace roster::client {

namespace {

using clock_type = std::chrono::steady_clock;

// What one endpoint answered to a removal, or why it did not.
struct attempt {
    std::optional<membership::remove_reply> reply;
    std::string error; // no reply: why
};

// Sends `q` to `endpoint` (HOST:PORT, or ID@HOST:PORT whose key is in o.voter_keys) and waits up to
// `wait` for the reply with its request id. client.cc's requests are private to it; this is the
// same exchange for the one operator request.
attempt ask_remove(zmq::context_t& ctx, const options& o, const std::string& endpoint,
                   const membership::remove_request& q, std::chrono::milliseconds wait) {
    std::string host_port = endpoint;
    std::optional<auth::curve_key> server_key = o.server_key;
    if (const auto at = endpoint.find('@'); at != std::string::npos) {
        host_port = endpoint.substr(at + 1);
        const std::string id = endpoint.substr(0, at);
        for (const auto& [voter, key] : o.voter_keys) {
            if (std::to_string(voter.value()) == id) {
                server_key = key;
            }
        }
    }
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    apply_link_timing(s);
    if (o.key) {
        if (!server_key) {
            return {std::nullopt, fmt::format("{}: no server key for it (ID@HOST:PORT with --voter-keys)", endpoint)};
        }
        s.set(zmq::sockopt::curve_serverkey, zmq::buffer(server_key->bytes()));
        s.set(zmq::sockopt::curve_publickey, zmq::buffer(o.key->public_key.bytes()));
        s.set(zmq::sockopt::curve_secretkey, zmq::buffer(o.key->secret_key.bytes()));
    }
    try {
        s.connect("tcp://" + host_port);
    } catch (const zmq::error_t& e) {
        return {std::nullopt, fmt::format("{}: not HOST:PORT ({})", endpoint, e.what())};
    }
    wire::envelope env;
    env.cluster = o.cluster;
    env.from.name = o.name;
    env.msg = q;
    const bytes out = wire::encode(env);
    (void)s.send(zmq::buffer(out), zmq::send_flags::dontwait);
    const auto deadline = clock_type::now() + wait;
    while (true) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        if (left.count() <= 0) {
            return {std::nullopt, fmt::format("no answer from {} within {} ms", endpoint, wait.count())};
        }
        zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::min<std::chrono::milliseconds>(left, std::chrono::milliseconds(50)));
        zmq::message_t m;
        while (s.recv(m, zmq::recv_flags::dontwait)) {
            auto d = wire::decode(bytes_view(static_cast<const std::uint8_t*>(m.data()), m.size()));
            if (!d || d->cluster != o.cluster) {
                continue;
            }
            if (const auto* r = std::get_if<membership::remove_reply>(&d->msg); r && r->request_id == q.request_id) {
                return {*r, {}};
            }
        }
    }
}

} // namespace

result<view_id, admin_error> remove_member(const options& o, const std::string& name_or_id) {
    using kind = admin_error::kind;
    if (o.endpoints.empty()) {
        return admin_error{kind::invalid, "no endpoint given"};
    }
    if (auto bad = check(o)) {
        return admin_error{kind::invalid, *bad};
    }
    if (name_or_id.empty()) {
        return admin_error{kind::invalid, "give the name or the id of the member to remove"};
    }
    membership::remove_request q;
    q.request_id = static_cast<std::uint64_t>(clock_type::now().time_since_epoch().count()) | 1;
    const bool digits = name_or_id.size() <= 18 &&
                        name_or_id.find_first_not_of("0123456789") == std::string::npos;
    if (digits && std::stoull(name_or_id) != 0) {
        q.member = member_id(std::stoull(name_or_id));
    } else {
        q.name = name_or_id;
    }

    // Every endpoint gets the options' timeout to answer; "no leader" answers are retried (an
    // election takes a fraction of a second) until that much time has passed per endpoint.
    const auto deadline = clock_type::now() + o.timeout * static_cast<int>(o.endpoints.size());
    zmq::context_t ctx(1);
    std::string errors;
    bool unanswered = false; // an attempt went unanswered: it may have committed all the same
    while (true) {
        bool retry = false;
        for (const auto& e : o.endpoints) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
            if (left.count() <= 0) {
                break;
            }
            const attempt a = ask_remove(ctx, o, e, q, std::min(left, o.timeout));
            if (!a.reply) {
                unanswered = true;
                errors += (errors.empty() ? "" : "; ") + a.error;
                continue;
            }
            const auto& r = *a.reply;
            switch (r.status) {
            case membership::request_status::ok:
                return r.view;
            case membership::request_status::not_found:
                return admin_error{kind::not_found,
                                   unanswered ? r.error + " (an earlier attempt that went unanswered may have "
                                                          "removed it)"
                                              : r.error};
            case membership::request_status::rejected:
                return admin_error{kind::not_permitted, fmt::format("{} refused: {}", e, r.error)};
            case membership::request_status::not_leader:
            case membership::request_status::unavailable:
                retry = true;
                errors += fmt::format("{}{}: {}", errors.empty() ? "" : "; ", e, r.error);
                break;
            }
        }
        if (!retry || clock_type::now() + std::chrono::milliseconds(100) >= deadline) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        errors.clear();
    }
    return admin_error{kind::no_leader, "no voter could decide the removal: " + errors};
}

std::vector<endpoint_health> health(const options& o) {
    std::vector<endpoint_health> out;
    for (const auto& e : o.endpoints) {
        options one = o;
        one.endpoints = {e};
        endpoint_health h{e};
        auto s = status(one);
        if (!s) {
            h.reason = s.error();
        } else {
            h.reachable = true;
            h.healthy = s->healthy;
            h.reason = s->health_reason;
            h.ready = s->ready;
            h.ready_reason = s->ready_reason;
            if (!h.healthy && h.reason.empty()) {
                h.reason = "unknown: this rosterd does not report its health (an older version)";
            }
        }
        out.push_back(std::move(h));
    }
    return out;
}

} // namespace roster::client
