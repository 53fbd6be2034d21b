#include "tools/commands.hh"
#include <algorithm>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "auth/keys.hh"
#include "client/admin.hh"
#include "common/escape.hh"
#include "common/spelling.hh"
#include "tools/json.hh"
#include "tools/text.hh"
#include "views/view_ops.hh"

namespace roster::tools {

namespace {

using namespace std::chrono_literals;

int fail(const std::string& why) {
    complain(why);
    return exit_cluster;
}

void out(const std::string& text) {
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
}

int run_members(const ctl_context& c) {
    auto v = client::current_view(c.options);
    if (!v) {
        return fail(v.error());
    }
    if (c.json) {
        out(view_json(*v) + "\n");
        return exit_ok;
    }
    // Which voter leads consensus, for the VOTER column: the node's status says (a member's does
    // not know: the column then says "role unknown").
    auto s = client::status(c.options);
    out(members_table(*v, s ? s->leader : voter_id()));
    return exit_ok;
}

int run_remove(const ctl_context& c, const std::string& target) {
    auto r = client::remove_member(c.options, target);
    if (!r) {
        complain(r.error().message);
        return r.error().what == client::admin_error::kind::invalid ? exit_usage : exit_cluster;
    }
    if (c.json) {
        out(fmt::format("{{\"removed\": {}, \"view_id\": {}}}\n", json_quote(target), *r));
    } else {
        out(fmt::format("removed {} in view {} (reason removed_by_operator)\n", escape_for_terminal(target), *r));
    }
    return exit_ok;
}

int run_health(const ctl_context& c) {
    const auto all = client::health(c.options);
    bool every = !all.empty();
    std::string text;
    std::string json = "[";
    for (std::size_t i = 0; i < all.size(); ++i) {
        const auto& h = all[i];
        every = every && h.reachable && h.healthy;
        if (c.json) {
            json += fmt::format("{}{{\"endpoint\": {}, \"reachable\": {}, \"healthy\": {}, \"ready\": {}, "
                                "\"reason\": {}, \"ready_reason\": {}}}",
                                i ? ", " : "", json_quote(h.endpoint), h.reachable, h.healthy, h.ready,
                                json_quote(h.reason), json_quote(h.ready_reason));
        } else if (!h.reachable) {
            text += fmt::format("{}: unreachable: {}\n", escape_for_terminal(h.endpoint), escape_for_terminal(h.reason));
        } else {
            text += fmt::format("{}: {}{}, {}{}\n", escape_for_terminal(h.endpoint),
                                h.healthy ? "healthy" : "unhealthy",
                                h.healthy ? "" : " (" + escape_for_terminal(h.reason) + ")",
                                h.ready ? "ready" : "not ready",
                                h.ready ? "" : " (" + escape_for_terminal(h.ready_reason) + ")");
        }
    }
    out(c.json ? json + "]\n" : text);
    return every ? exit_ok : exit_cluster;
}

int run_leader(const ctl_context& c) {
    auto v = client::current_view(c.options);
    if (!v) {
        return fail(v.error());
    }
    const auto l = std::find_if(v->members.begin(), v->members.end(), [&](const auto& m) { return m.id == v->leader; });
    if (l == v->members.end()) {
        return fail(fmt::format("no members (view {}): there is no member leader", v->id));
    }
    if (c.json) {
        out(fmt::format("{{\"id\": {}, \"name\": {}, \"fencing_token\": {}, \"view_id\": {}}}\n", l->id,
                        json_quote(l->name), v->fencing_token, v->id));
    } else {
        out(fmt::format("member leader: id {} ({}), fencing token {}, view {}\n", l->id,
                        escape_for_terminal(l->name), v->fencing_token, v->id));
    }
    return exit_ok;
}

int run_status(const ctl_context& c) {
    auto s = client::status(c.options);
    if (!s) {
        return fail(s.error());
    }
    if (c.json) {
        out(status_json(*s) + "\n");
        return exit_ok;
    }
    // The member leader is in the view, not the status: ask for it too (a node that answered the
    // first question answers the second; if not, the status is still worth printing).
    auto v = client::current_view(c.options);
    out(status_text(*s, v ? &v.value() : nullptr));
    return exit_ok;
}

int run_watch(const ctl_context& c) {
    client::watcher w(c.options);
    watch_printer printer;
    while (true) {
        auto next = w.next(1000ms);
        if (!next) {
            return fail(next.error());
        }
        if (!*next) {
            continue;
        }
        if (const auto* d = std::get_if<views::delivery>(&**next)) {
            out(c.json ? delivery_json(*d) + "\n" : printer.print(*d));
        } else if (const auto* e = std::get_if<views::node_event>(&**next)) {
            out(c.json ? event_json(*e) + "\n" : printer.print(*e));
        }
    }
}

} // namespace

void complain(const std::string& why) { std::fprintf(stderr, "rosterctl: %s\n", escape_for_terminal(why).c_str()); }

std::vector<command> commands() {
    auto keygen_path = std::make_shared<std::string>();
    auto remove_target = std::make_shared<std::string>();
    return {
        {"members", "the current view: a table, or --json", true, {}, run_members},
        {"watch", "every view as it commits, starting with the current one (until killed)", true, {}, run_watch},
        {"leader", "the member leader (lowest id) and its fencing token", true, {}, run_leader},
        {"status", "what the node is: voter or member, consensus role and leader, term, commit index, view", true,
         {}, run_status},
        {"health", "each endpoint's health and readiness (exit 1 unless every one is healthy)", true, {},
         run_health},
        {"remove", "remove a member by NAME or ID, like consul force-leave (an admin key on a secured cluster)",
         true,
         [remove_target](CLI::App& sub) {
             sub.add_option("MEMBER", *remove_target, "the member's name, or its id")->required();
         },
         [remove_target](const ctl_context& c) { return run_remove(c, *remove_target); }},
        {"keygen", "write a new key pair: PATH (secret, mode 0600) and PATH.pub; print the public key", false,
         [keygen_path](CLI::App& sub) {
             sub.add_option("PATH", *keygen_path, "where to write the secret key")->required();
         },
         [keygen_path](const ctl_context&) {
             auto k = auth::generate_key_pair();
             if (!k) {
                 return fail(k.error());
             }
             if (auto err = auth::write_key_files(*keygen_path, k.value())) {
                 return fail(*err);
             }
             out(k->public_key.z85() + "\n");
             return int(exit_ok);
         }},
    };
}

std::optional<std::string> did_you_mean(std::string_view word, const std::vector<command>& table) {
    std::optional<std::string> best;
    std::size_t best_distance = 3;
    for (const auto& c : table) {
        const auto d = c.name.rfind(word, 0) == 0 && !word.empty() ? 0 : edit_distance(word, c.name);
        if (d < best_distance) {
            best = c.name;
            best_distance = d;
        }
    }
    return best;
}

} // namespace roster::tools
