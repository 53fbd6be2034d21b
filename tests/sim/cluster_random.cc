#include "tests/sim/cluster_random.hh"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "tests/sim/cluster_sim.hh"
#include "tests/sim/replay.hh"
#include "tests/sim/term_forger.hh"

namespace roster::sim {

namespace {

link_profile fair() {
    link_profile p;
    p.min_delay = 200us;
    p.max_delay = 3ms;
    return p;
}

link_profile rough(prng& rng) {
    link_profile p;
    p.min_delay = duration(rng.between(200'000, 2'000'000));
    p.max_delay = p.min_delay + duration(rng.between(0, 15'000'000));
    p.loss = rng.chance(0.5) ? rng.unit() * 0.2 : 0.0;
    p.duplicate = rng.chance(0.3) ? rng.unit() * 0.05 : 0.0;
    p.slow = rng.chance(0.3) ? rng.unit() * 0.05 : 0.0;
    p.slow_max = duration(rng.between(0, 200'000'000));
    return p;
}

} // namespace

std::string cluster_replay_command(std::uint64_t seed, duration chaos) {
    return replay_command("cluster_sim", seed, chaos, cluster_random_options{}.chaos);
}

cluster_random_result run_cluster_random(const cluster_random_options& options) {
    prng rng(options.seed);
    cluster_options co;
    co.seed = rng.next();
    co.voters = rng.chance(0.7) ? 3 : 5;
    co.members = 50;
    co.clients = 6;
    co.links = fair();
    // One seed in four: commands of about five joins, so that changes queue behind full commands
    // (without a draw: the other seeds' runs stay as they were).
    if (co.seed % 4 == 0) {
        co.max_command_bytes = 1024;
    }
    co.verbose = options.verbose;
    cluster_sim c(co);
    cluster_random_result out;
    const std::size_t V = co.voters, M = co.members;
    const auto all = V + M + co.clients;

    // Let the cluster form on a fair network first: the faults are about a running cluster.
    c.run_until([&] { return c.newest_view().members.size() == V + M; }, 20s);

    std::set<std::size_t> leaving; // members that left gracefully (restarted later)
    term_forger forger(options.seed, 0.3);
    const mono_time end = c.now() + options.chaos;
    while (c.now() < end && !c.violation()) {
        c.run_for(duration(rng.between(20'000'000, 500'000'000)));
        ++out.faults;
        const auto pick_member = [&] { return static_cast<std::size_t>(rng.below(M)); };
        const auto pick_voter = [&] { return static_cast<std::size_t>(rng.below(V)); };
        switch (rng.below(12)) {
        case 0: { // a voter crashes, the leader half of the time
            const auto l = c.leader();
            c.crash_voter(l && rng.chance(0.5) ? *l : pick_voter());
            break;
        }
        case 1: { // a voter comes back
            for (std::size_t v = 0; v < V; ++v) {
                if (!c.voter_up(v)) {
                    c.restart_voter(v);
                    break;
                }
            }
            break;
        }
        case 2: { // a link between two voters misbehaves, one way
            const auto a = pick_voter(), b = pick_voter();
            if (a != b) {
                if (rng.chance(0.5)) {
                    c.network().cut(a, b, !c.network().is_cut(a, b));
                } else {
                    c.network().profile(a, b) = rough(rng);
                }
            }
            break;
        }
        case 3: { // a voter is isolated, or brought back
            c.network().isolate(pick_voter(), rng.chance(0.5));
            break;
        }
        case 4: { // a member crashes; or a crashed one restarts as a new process
            const auto m = pick_member();
            if (c.member_up(m)) {
                c.crash_member(m);
            } else {
                leaving.erase(m);
                c.restart_member(m);
            }
            break;
        }
        case 5: { // several members crash at once (a rack)
            const auto first = pick_member();
            for (std::size_t k = 0; k < 5; ++k) {
                c.crash_member((first + k) % M);
            }
            break;
        }
        case 6: { // a member stalls, or a stalled one resumes
            const auto m = pick_member();
            if (c.member_paused(m)) {
                c.resume_member(m);
            } else {
                c.pause_member(m);
            }
            break;
        }
        case 7: { // a member-voter link turns flaky or is cut one way
            const auto m = c.member_endpoint(pick_member());
            const auto v = pick_voter();
            if (rng.chance(0.5)) {
                c.network().profile(m, v) = rough(rng);
                c.network().profile(v, m) = rough(rng);
            } else {
                c.network().cut(m, v, !c.network().is_cut(m, v));
            }
            break;
        }
        case 8: { // a subscriber stops hearing publications, or hears again
            const auto s = static_cast<std::size_t>(rng.below(co.clients));
            c.drop_publications_to(s, !c.client(s).deaf);
            break;
        }
        case 9: { // a member leaves gracefully
            const auto m = pick_member();
            if (c.member_up(m) && !c.member_paused(m)) {
                c.leave_member(m);
                leaving.insert(m);
            }
            break;
        }
        case 10: { // swizzle-clog some voter links, unclog in another order
            std::vector<std::pair<std::size_t, std::size_t>> links;
            for (std::size_t a = 0; a < V; ++a) {
                for (std::size_t b = 0; b < V; ++b) {
                    if (a != b && rng.chance(0.4)) {
                        links.emplace_back(a, b);
                    }
                }
            }
            for (const auto& [a, b] : links) {
                c.run_for(duration(rng.between(5'000'000, 50'000'000)));
                c.network().clog(a, b);
            }
            c.run_for(duration(rng.between(50'000'000, 600'000'000)));
            for (std::size_t i = links.size(); i > 1; --i) {
                std::swap(links[i - 1], links[rng.below(i)]);
            }
            for (const auto& [a, b] : links) {
                c.run_for(duration(rng.between(5'000'000, 50'000'000)));
                c.network().unclog(a, b);
            }
            break;
        }
        default: { // the network heals for a while
            c.network().heal();
            break;
        }
        }
        if (auto f = forger.next(V, [&](std::size_t v) {
                return c.voter_up(v) ? c.voter(v).consensus().term() : raft_term();
            })) {
            c.forge_term(f->to, f->from, std::move(f->body));
        }
    }

    if (!c.violation()) {
        // Heal: fair links everywhere, every process up and running, subscribers hearing.
        const mono_time healed = c.now();
        c.network().heal();
        for (std::size_t a = 0; a < all; ++a) {
            for (std::size_t b = 0; b < all; ++b) {
                c.network().profile(a, b) = fair();
            }
        }
        for (std::size_t v = 0; v < V; ++v) {
            c.restart_voter(v);
        }
        for (std::size_t m = 0; m < M; ++m) {
            if (c.member_paused(m)) {
                c.resume_member(m);
            }
            if (!c.member_up(m) || leaving.count(m)) {
                if (c.member_up(m)) {
                    c.crash_member(m); // it left; start it again as a new process
                }
                c.restart_member(m);
            }
        }
        for (std::size_t s = 0; s < co.clients; ++s) {
            c.drop_publications_to(s, false);
        }
        auto converged = [&] {
            const auto& v = c.newest_view();
            if (v.members.size() != V + M) {
                return false;
            }
            std::set<std::string> names;
            for (const auto& m : v.members) {
                names.insert(m.name);
            }
            if (names.size() != V + M) {
                return false;
            }
            for (std::size_t m = 0; m < M; ++m) {
                if (c.member(m).current_phase() != node::member_node::phase::active ||
                    c.member(m).id() != c.id_in_view(m) || c.member(m).view().id != v.id) {
                    return false;
                }
            }
            for (std::size_t v2 = 0; v2 < V; ++v2) {
                if (c.voter(v2).view().id != v.id) {
                    return false;
                }
            }
            for (std::size_t s = 0; s < co.clients; ++s) {
                const auto& d = c.client(s).deliveries;
                if (d.empty() || d.back().current.id != v.id) {
                    return false;
                }
            }
            return true;
        };
        const bool done = c.run_until(converged, cluster_liveness_bound);
        out.recovery = c.now() - healed;
        if (!c.violation() && !done) {
            const auto& v = c.newest_view();
            std::size_t inactive = 0;
            for (std::size_t m = 0; m < M; ++m) {
                inactive += c.member(m).current_phase() != node::member_node::phase::active ? 1 : 0;
            }
            // Who is missing from the newest view, and what it is doing (voters' own entries too).
            std::string missing;
            const auto absent = [&](const std::string& name) {
                return std::none_of(v.members.begin(), v.members.end(),
                                    [&](const views::member& x) { return x.name == name; });
            };
            constexpr const char* phases[] = {"joining", "active", "leaving", "left"};
            for (std::size_t v2 = 0; v2 < V; ++v2) {
                const auto& n = c.voter(v2);
                if (absent(n.config().name)) {
                    missing += fmt::format("{}{} (a voter, its own entry {}{})", missing.empty() ? "" : ", ",
                                           n.config().name, phases[static_cast<int>(n.self_phase())],
                                           n.self() != member_id() ? fmt::format(" as member {}", n.self())
                                                                   : std::string());
                }
            }
            for (std::size_t m = 0; m < M; ++m) {
                if (absent(c.member_name(m))) {
                    missing += fmt::format(
                        "{}{} ({} at incarnation {})", missing.empty() ? "" : ", ", c.member_name(m),
                        phases[static_cast<int>(c.member(m).current_phase())], c.member(m).incarnation());
                }
            }
            out.failure = fmt::format(
                "liveness: {:.0f} ms after the heal the cluster has not converged: newest "
                "view {} has {} of {} members, {} members not active, leader {}; missing: {}",
                to_ms(out.recovery), v.id, v.members.size(), V + M, inactive,
                c.leader() ? static_cast<int>(*c.leader()) + 1 : 0, missing.empty() ? "none" : missing);
        }
        if (!c.violation() && done) {
            c.run_for(2s); // and it stays correct in the calm
        }
    }
    if (c.violation()) {
        out.failure = *c.violation();
    }
    out.trace_hash = c.trace_hash();
    out.events = c.events();
    out.views = c.view_changes();
    out.forged = c.forged();
    return out;
}

} // namespace roster::sim
