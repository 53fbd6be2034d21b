// rosterctl: ask a rosterd about the views.
//
//   rosterctl [--endpoint [ID@]HOST:PORT] [--timeout MS] [--cluster NAME] [--key-file PATH
//             --voter-keys 1=PUB,... | --server-key PUB] <command> [--json]
//   rosterctl keygen PATH
//
//   members   the current view
//   watch     every view as it commits, starting with the current one (runs until killed)
//   leader    the current leader and its fencing token
//   status    what the node is: role, term, commit index, view
//   keygen    a new CURVE key pair: PATH (secret, 0600) and PATH.pub; prints the public key
//
// The JSON formats are a contract (README, "JSON formats").
#include <cstdio>
#include <map>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "auth/keys.hh"
#include "client/client.hh"
#include "client/key_flags.hh"
#include "common/escape.hh"
#include "tools/json.hh"
#include "views/view_ops.hh"

using namespace roster;

namespace {

std::string role_name(wire::node_role r) {
    switch (r) {
    case wire::node_role::leader:
        return "leader";
    case wire::node_role::follower:
        return "follower";
    case wire::node_role::pre_candidate:
    case wire::node_role::candidate:
        return "candidate";
    case wire::node_role::member:
        return "member";
    }
    return "member";
}

const views::member* find(const views::view& v, member_id id) {
    for (const auto& m : v.members) {
        if (m.id == id) {
            return &m;
        }
    }
    return nullptr;
}

// Every string from a node (names, addresses, errors) reaches the terminal through this: control
// characters and invalid UTF-8 are shown as escapes, so no name can move the cursor, retitle the
// window or forge a line.
std::string shown(const std::string& s) { return escape_for_terminal(s); }

// Names of members seen so far, to name the removed ones.
std::map<member_id, std::string>& names() {
    static std::map<member_id, std::string> n;
    return n;
}

void print_view_text(const views::view& v, bool resync) {
    for (const auto& m : v.members) {
        names()[m.id] = m.name;
    }
    const auto* leader = find(v, v.leader);
    std::printf("view %llu: %zu members, leader %s (id %llu, fencing token %llu)%s\n",
                static_cast<unsigned long long>(v.id.value()), v.members.size(),
                leader ? shown(leader->name).c_str() : "-", static_cast<unsigned long long>(v.leader.value()),
                static_cast<unsigned long long>(v.fencing_token.value()),
                resync ? " [resync: earlier views are no longer held]" : "");
    for (member_id id : v.joined) {
        const auto* m = find(v, id);
        std::printf("  + %llu %s %s\n", static_cast<unsigned long long>(id.value()),
                    m ? shown(m->name).c_str() : "?", m ? shown(m->address).c_str() : "");
    }
    for (const auto& r : v.removed) {
        const auto n = names().find(r.id);
        std::printf("  - %llu %s(%s)\n", static_cast<unsigned long long>(r.id.value()),
                    n != names().end() ? (shown(n->second) + " ").c_str() : "", views::to_string(r.reason));
    }
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"rosterctl: ask a rosterd (voter or member) about the views"};
    std::string endpoint = "127.0.0.1:7400";
    std::string cluster = "roster";
    int timeout_ms = 3000;
    bool json = false;
    app.add_option("--endpoint", endpoint,
                   "the --listen endpoint of any rosterd, HOST:PORT (several: comma-separated)")
        ->capture_default_str();
    app.add_option("--cluster", cluster, "cluster name")->capture_default_str();
    app.add_option("--timeout", timeout_ms, "milliseconds to wait for an answer")
        ->check(CLI::Range(1, 3'600'000))
        ->capture_default_str();
    app.add_flag("--json", json, "print JSON");
    client::key_flags keys;
    keys.add_to(app);
    app.require_subcommand(1);
    std::string keygen_path;
    auto* keygen = app.add_subcommand(
        "keygen", "write a new key pair: PATH (secret, mode 0600) and PATH.pub; print the public key");
    keygen->add_option("PATH", keygen_path, "where to write the secret key")->required();
    auto* members = app.add_subcommand("members", "the current view");
    auto* watch = app.add_subcommand("watch", "every view as it commits (until killed)");
    auto* leader = app.add_subcommand("leader", "the current leader and its fencing token");
    auto* status = app.add_subcommand("status", "role, term, commit index and view of the node");
    for (auto* sub : {members, watch, leader, status}) {
        sub->add_flag("--json", json, "print JSON");
    }
    CLI11_PARSE(app, argc, argv);

    auto fail = [](const std::string& why) {
        std::fprintf(stderr, "rosterctl: %s\n", shown(why).c_str()); // may quote a node's error
        return 1;
    };
    if (*keygen) {
        auto k = auth::generate_key_pair();
        if (!k) {
            return fail(k.error());
        }
        if (auto err = auth::write_key_files(keygen_path, k.value())) {
            return fail(*err);
        }
        std::printf("%s\n", k->public_key.z85().c_str());
        return 0;
    }

    client::options o;
    o.cluster = cluster;
    o.timeout = std::chrono::milliseconds(timeout_ms);
    o.name = "rosterctl";
    for (std::size_t start = 0; start <= endpoint.size();) {
        const auto comma = endpoint.find(',', start);
        o.endpoints.push_back(
            endpoint.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    if (auto bad = keys.apply(o)) { // loads the keys and checks every endpoint has its server key
        return fail(*bad);
    }

    if (*status) {
        auto s = client::status(o);
        if (!s) {
            return fail(s.error());
        }
        if (json) {
            std::printf(
                "{\"name\": %s, \"role\": \"%s\", \"term\": %llu, \"commit_index\": %llu, \"view_id\": %llu, "
                "\"voter_id\": %u, \"member_id\": %llu, \"leader_voter_id\": %u}\n",
                tools::json_quote(s->name).c_str(), role_name(s->role).c_str(),
                static_cast<unsigned long long>(s->term.value()),
                static_cast<unsigned long long>(s->commit.value()),
                static_cast<unsigned long long>(s->view.value()), s->voter.value(),
                static_cast<unsigned long long>(s->member.value()), s->leader.value());
        } else {
            std::printf("%s: %s, term %llu, commit index %llu, view %llu, member id %llu\n",
                        shown(s->name).c_str(), role_name(s->role).c_str(),
                        static_cast<unsigned long long>(s->term.value()),
                        static_cast<unsigned long long>(s->commit.value()),
                        static_cast<unsigned long long>(s->view.value()),
                        static_cast<unsigned long long>(s->member.value()));
        }
        return 0;
    }
    if (*members || *leader) {
        auto v = client::current_view(o);
        if (!v) {
            return fail(v.error());
        }
        if (*members) {
            if (json) {
                std::printf("%s\n", tools::view_json(*v).c_str());
            } else {
                print_view_text(*v, false);
                for (const auto& m : v->members) {
                    std::printf("  %llu %s %s (incarnation %llu)\n",
                                static_cast<unsigned long long>(m.id.value()), shown(m.name).c_str(),
                                shown(m.address).c_str(),
                                static_cast<unsigned long long>(m.incarnation.value()));
                }
            }
            return 0;
        }
        const auto* l = find(*v, v->leader);
        if (l == nullptr) {
            return fail(fmt::format("view {} is empty: there is no leader", v->id));
        }
        if (json) {
            std::printf("{\"id\": %llu, \"name\": %s, \"fencing_token\": %llu, \"view_id\": %llu}\n",
                        static_cast<unsigned long long>(l->id.value()), tools::json_quote(l->name).c_str(),
                        static_cast<unsigned long long>(v->fencing_token.value()),
                        static_cast<unsigned long long>(v->id.value()));
        } else {
            std::printf("%s (id %llu), fencing token %llu, view %llu\n", shown(l->name).c_str(),
                        static_cast<unsigned long long>(l->id.value()),
                        static_cast<unsigned long long>(v->fencing_token.value()),
                        static_cast<unsigned long long>(v->id.value()));
        }
        return 0;
    }
    // watch
    client::watcher w(o);
    while (true) {
        auto next = w.next(std::chrono::milliseconds(1000));
        if (!next) {
            return fail(next.error());
        }
        if (!*next) {
            continue;
        }
        if (const auto* d = std::get_if<views::delivery>(&**next)) {
            if (json) {
                std::printf("%s\n", tools::delivery_json(*d).c_str());
            } else {
                print_view_text(d->current, d->resync);
            }
        } else if (const auto* e = std::get_if<views::node_event>(&**next)) {
            if (json) {
                std::printf("%s\n", tools::event_json(*e).c_str());
            } else if (e->what == views::node_event::kind::removed) {
                std::printf("event: this node (member %llu) was removed in view %llu (%s)\n",
                            static_cast<unsigned long long>(e->member.value()),
                            static_cast<unsigned long long>(e->view.value()), views::to_string(e->reason));
            } else {
                std::printf("event: this node rejoined as member %llu (was %llu) in view %llu\n",
                            static_cast<unsigned long long>(e->new_member.value()),
                            static_cast<unsigned long long>(e->member.value()),
                            static_cast<unsigned long long>(e->view.value()));
            }
        }
        std::fflush(stdout);
    }
}
