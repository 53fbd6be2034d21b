// admin_client: the operator functions of the client library (client/admin.hh) from the command
// line, for the integration tests, until rosterctl has its own commands for them:
//
//   admin_client remove NAME_OR_ID ENDPOINT...   "removed in view N" (exit 0), or "KIND: message"
//                                                (exit 1; KIND: invalid, not_found, not_permitted,
//                                                no_leader)
//   admin_client health ENDPOINT...              one line per endpoint: "ENDPOINT up|down
//                                                healthy|unhealthy ready|unready REASON"
//
// Keys as rosterctl takes them (--key-file, --voter-keys, --server-key; client/key_flags.hh).
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "client/admin.hh"
#include "client/key_flags.hh"
#include "common/escape.hh"

using namespace roster;

namespace {

const char* kind_name(client::admin_error::kind k) {
    switch (k) {
    case client::admin_error::kind::invalid:
        return "invalid";
    case client::admin_error::kind::not_found:
        return "not_found";
    case client::admin_error::kind::not_permitted:
        return "not_permitted";
    case client::admin_error::kind::no_leader:
        return "no_leader";
    }
    return "?";
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"admin_client: client::remove_member and client::health for the tests"};
    std::string command, target;
    std::vector<std::string> endpoints;
    int timeout_ms = 2000;
    app.add_option("command", command, "remove or health")->required();
    app.add_option("endpoints", endpoints, "remove: NAME_OR_ID, then endpoints; health: endpoints")->required();
    app.add_option("--timeout", timeout_ms, "per endpoint, milliseconds");
    client::key_flags keys;
    keys.add_to(app);
    CLI11_PARSE(app, argc, argv);
    client::options o;
    o.timeout = std::chrono::milliseconds(timeout_ms);
    if (command == "remove") {
        if (endpoints.size() < 2) {
            std::fprintf(stderr, "admin_client remove NAME_OR_ID ENDPOINT...\n");
            return 2;
        }
        target = endpoints.front();
        endpoints.erase(endpoints.begin());
    }
    o.endpoints = endpoints;
    if (auto bad = keys.apply(o)) {
        std::fprintf(stderr, "admin_client: %s\n", escape_for_terminal(*bad).c_str());
        return 2;
    }
    if (command == "remove") {
        auto r = client::remove_member(o, target);
        if (!r) {
            std::printf("%s: %s\n", kind_name(r.error().what), escape_for_terminal(r.error().message).c_str());
            return 1;
        }
        std::printf("removed in view %llu\n", static_cast<unsigned long long>(r.value().value()));
        return 0;
    }
    if (command == "health") {
        for (const auto& h : client::health(o)) {
            std::printf("%s %s %s %s %s\n", h.endpoint.c_str(), h.reachable ? "up" : "down",
                        h.healthy ? "healthy" : "unhealthy", h.ready ? "ready" : "unready",
                        escape_for_terminal(h.healthy ? h.ready_reason : h.reason).c_str());
        }
        return 0;
    }
    std::fprintf(stderr, "admin_client: unknown command (remove, health)\n");
    return 2;
}
