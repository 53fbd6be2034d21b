// watch_views: the shortest useful program with roster's client library.
//
// Connects to a rosterd (voter or member), prints every view as it commits and what changed,
// and says so when the node it watches was removed from the view (and rejoined).
//
//   build/bin/watch_views 127.0.0.1:7400
//   build/bin/watch_views --key-file KEY --voter-keys 1=PUB,2=PUB,3=PUB 1@127.0.0.1:7400   (secured)
//   build/bin/watch_views --json 127.0.0.1:7400   one JSON line per view or event, as `rosterctl watch
//   --json`
#include <cstdio>
#include <exception>
#include <map>
#include <string>

#include <CLI/CLI.hpp>

#include "client/client.hh"
#include "client/key_flags.hh"
#include "tools/json.hh"
#include "views/view_ops.hh"

using namespace std::chrono_literals;

namespace {

int run(int argc, char** argv) {
    CLI::App app{"watch_views: print every view of a rosterd as it commits"};
    std::string endpoint = "127.0.0.1:7400";
    app.add_option("ENDPOINT", endpoint, "the --listen endpoint of a rosterd, HOST:PORT or ID@HOST:PORT");
    roster::client::key_flags keys; // --key-file, --voter-keys, --server-key, as rosterctl's
    keys.add_to(app);
    bool json = false;
    app.add_flag("--json", json,
                 "print each view and event as one JSON line, in the format of rosterctl watch --json");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e); // prints the help, or the error
        return code == 0 ? 0 : 2;
    }

    roster::client::options options;
    options.endpoints = {endpoint};
    if (auto bad = keys.apply(options)) { // also checks the endpoint: "endpoint 'localhost' is not HOST:PORT (no port)"
        std::fprintf(stderr, "watch_views: %s\n", bad->c_str());
        return 2;
    }
    roster::client::watcher watcher(options);
    std::map<roster::member_id, std::string> names; // to name members that are gone

    while (true) {
        auto next = watcher.next(5s);
        if (!next) {
            std::fprintf(stderr, "watch_views: %s\n", next.error().c_str());
            return 1;
        }
        if (!*next) {
            continue; // nothing in five seconds: keep waiting
        }
        if (json) {
            const auto* d = std::get_if<roster::views::delivery>(&**next);
            const std::string line =
                d != nullptr ? roster::tools::delivery_json(*d)
                             : roster::tools::event_json(std::get<roster::views::node_event>(**next));
            std::printf("%s\n", line.c_str());
        } else if (const auto* d = std::get_if<roster::views::delivery>(&**next)) {
            const auto& v = d->current;
            std::printf("view %llu: %zu members, leader %llu (fencing token %llu)%s\n",
                        static_cast<unsigned long long>(v.id.value()), v.members.size(),
                        static_cast<unsigned long long>(v.leader.value()),
                        static_cast<unsigned long long>(v.fencing_token.value()),
                        d->resync ? " -- caught up after missing views" : "");
            for (const auto& m : v.members) {
                names[m.id] = m.name;
            }
            for (auto id : v.joined) {
                std::printf("  joined:  %s (id %llu)\n", names[id].c_str(),
                            static_cast<unsigned long long>(id.value()));
            }
            for (const auto& r : v.removed) {
                std::printf("  removed: %s (id %llu, %s)\n", names[r.id].c_str(),
                            static_cast<unsigned long long>(r.id.value()),
                            roster::views::to_string(r.reason));
            }
        } else if (const auto* e = std::get_if<roster::views::node_event>(&**next)) {
            // Only a member's stream carries these: the node we watch was thought dead.
            if (e->what == roster::views::node_event::kind::removed) {
                std::printf("!! this node (member %llu) was removed from the view; it is joining again\n",
                            static_cast<unsigned long long>(e->member.value()));
            } else {
                std::printf("!! this node is back, as member %llu\n",
                            static_cast<unsigned long long>(e->new_member.value()));
            }
        }
        std::fflush(stdout);
    }
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) { // a bug: say so rather than abort
        std::fprintf(stderr, "watch_views: internal error: %s\n", e.what());
    }
    return 1;
}
