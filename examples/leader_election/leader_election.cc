// leader_election: a singleton job on top of roster.
//
// Run one instance next to each rosterd member. The instance whose member has the lowest id in
// the current view is the leader: it does the job's work, stamping every action with the view's
// fencing token, into a resource (fenced_file) that refuses stale tokens. When a view arrives in
// which its member is not the leader, it stops at once: leadership is checked against the newest
// delivered view before every action.
//
//   build/bin/leader_election --endpoint 127.0.0.1:7500 --instance job-a --resource /tmp/job.log
//
// On a secured cluster it authenticates its rosterd by that node's public key, as rosterctl does:
//
//   build/bin/leader_election --key-file KEY --server-key "$(cat MEMBER_KEY.pub)" --endpoint ...
//
// With --tag role=scheduler it elects among the members with that tag only (rosterd --tag): the
// lowest id among them leads, with the fencing token client/leader.hh explains (the first view in
// which this instance saw that member lead the group).
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "client/client.hh"
#include "client/key_flags.hh"
#include "client/leader.hh"
#include "examples/leader_election/fenced_file.hh"

using namespace std::chrono_literals;
using namespace roster;

int main(int argc, char** argv) {
    CLI::App app{"leader_election: a singleton job that acts only while its member leads the view"};
    std::string endpoint = "127.0.0.1:7400", instance = "job", resource = "/tmp/roster-job.log", tag;
    int every_ms = 50;
    app.add_option("--endpoint", endpoint,
                   "the --listen endpoint of this instance's rosterd: HOST:PORT (ID@HOST:PORT for a voter)");
    app.add_option("--instance", instance, "this instance's name (written with each action)");
    app.add_option("--resource", resource, "the fenced file the job writes to");
    app.add_option("--every-ms", every_ms, "one action this often while leading");
    app.add_option("--tag", tag, "KEY=VALUE: elect among the members with this tag only (rosterd --tag)");
    client::key_flags keys;
    keys.add_to(app);
    CLI11_PARSE(app, argc, argv);

    client::group group;
    if (!tag.empty()) {
        auto g = client::group::parse(tag);
        if (!g) {
            std::fprintf(stderr, "leader_election: --tag %s: expected KEY=VALUE\n", tag.c_str());
            return 2;
        }
        group = *g;
    }
    client::group_leader_tracker tracker(group); // an empty group: the whole view, its own token
    client::options options;
    options.endpoints = {endpoint};
    if (auto bad = keys.apply(options)) {
        std::fprintf(stderr, "leader_election: %s\n", bad->c_str());
        return 2;
    }
    // Which member is ours: ask our rosterd.
    auto me = client::status(options);
    if (!me) {
        std::fprintf(stderr, "leader_election: %s\n", me.error().c_str());
        return 1;
    }
    member_id mine = me->member;
    client::watcher watcher(options);
    fenced_file out(resource);
    std::optional<views::view> latest;
    std::uint64_t actions = 0;
    bool leading = false;

    while (true) {
        // Take every view that has arrived before deciding anything.
        for (auto wait = std::chrono::milliseconds(leading ? 0 : every_ms);; wait = 0ms) {
            auto next = watcher.next(wait);
            if (!next) {
                std::fprintf(stderr, "leader_election: %s\n", next.error().c_str());
                return 1;
            }
            if (!*next) {
                break;
            }
            if (const auto* d = std::get_if<views::delivery>(&**next)) {
                latest = d->current;
                tracker.observe(d->current, d->resync);
            } else if (const auto* e = std::get_if<views::node_event>(&**next)) {
                if (e->what == views::node_event::kind::rejoined) {
                    mine = e->new_member; // our member came back under a new id
                } else {
                    mine = member_id();
                }
            }
        }
        const bool lead_now = latest && mine != member_id() && tracker.current().leader == mine;
        if (lead_now != leading) {
            leading = lead_now;
            std::printf("%s: %s (view %llu, fencing token %llu)\n", instance.c_str(),
                        leading ? "leading" : "not leading",
                        static_cast<unsigned long long>(latest ? latest->id.value() : 0),
                        static_cast<unsigned long long>(tracker.current().token.value()));
            std::fflush(stdout);
        }
        if (!leading) {
            continue;
        }
        const std::uint64_t token = tracker.current().token.value();
        const bool accepted = out.write(token, instance, "action-" + std::to_string(++actions));
        if (!accepted) {
            std::printf("%s: action %llu with token %llu refused: a newer leader has written\n",
                        instance.c_str(), static_cast<unsigned long long>(actions),
                        static_cast<unsigned long long>(token));
            std::fflush(stdout);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(every_ms));
    }
}
