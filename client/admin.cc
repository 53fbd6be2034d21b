#include "client/admin.hh"

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "client/detail.hh"

namespace roster::client {

namespace {
using clock_type = std::chrono::steady_clock;
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
    std::string errors;
    bool unanswered = false; // an attempt went unanswered: it may have committed all the same
    while (true) {
        bool retry = false;
        for (const auto& e : o.endpoints) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
            if (left.count() <= 0) {
                break;
            }
            const auto a = detail::ask_remove(o, e, q, std::min(left, o.timeout));
            if (!a) {
                unanswered = true;
                errors += (errors.empty() ? "" : "; ") + a.error();
                continue;
            }
            const auto& r = a.value();
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
