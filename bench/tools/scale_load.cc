// scale_load: plays N members over a few sockets, with the protocol of real members.
//
// Sends the N joins (names "<prefix>-<i>") to every voter at once, again every 5 s for those not
// answered, and prints "joined <n> <first_sent_ns> <last_answer_ns> <rejoins>" when all are
// answered (a rejoin: a join refused because its incarnation was used up, sent again as a new one). Each
// member heartbeats every voter once per --interval-ms from the moment it joined, spread evenly
// over the interval; --seconds after the join line it prints "heartbeats <sent>" and
// "removed <n>", the heartbeat replies that said "removed" (should be 0).
//
//   scale_load --voters 127.0.0.1:7400,... --members 10000 --interval-ms 1000 --seconds 60
#include <cstdio>
#include <optional>
#include <thread>

#include <CLI/CLI.hpp>

#include "bench/tools/bench_client.hh"

using namespace roster;

int main(int argc, char** argv) {
    CLI::App app{"scale_load: many members over a few sockets"};
    std::string voters, cluster = "roster", prefix = "load";
    int members = 1000, interval_ms = 1000, sockets = 4;
    double seconds = 30;
    double join_timeout = 120;
    bool join_only = false;
    app.add_option("--voters", voters)->required();
    app.add_option("--cluster", cluster);
    app.add_option("--prefix", prefix);
    app.add_option("--members", members);
    app.add_option("--interval-ms", interval_ms);
    app.add_option("--sockets", sockets, "DEALER sockets per voter");
    app.add_option("--seconds", seconds, "heartbeat phase length");
    app.add_option("--join-timeout", join_timeout, "seconds to wait for every join to be answered");
    app.add_flag("--join-only", join_only, "join, print, and exit (bootstrap measurement)");
    CLI11_PARSE(app, argc, argv);

    zmq::context_t ctx(2);
    const auto endpoints = bench::split(voters);
    // socks[v * sockets + k]: the k-th socket to voter v; member i uses socket i % sockets.
    std::vector<zmq::socket_t> socks;
    for (const auto& e : endpoints) {
        for (int k = 0; k < sockets; ++k) {
            socks.push_back(bench::dealer(ctx, e));
        }
    }
    std::vector<zmq::pollitem_t> items;
    for (auto& s : socks) {
        items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
    }
    const std::uint64_t inc = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    std::vector<member_id> ids(static_cast<std::size_t>(members));
    std::vector<incarnation_number> incs(ids.size(), incarnation_number(inc));
    std::size_t joined = 0, removed = 0, rejoins = 0;

    auto drain = [&] {
        for (auto& s : socks) {
            zmq::message_t m;
            while (s.recv(m, zmq::recv_flags::dontwait)) {
                auto e = bench::open(m);
                if (!e) {
                    continue;
                }
                if (const auto* r = std::get_if<membership::join_reply>(&e->msg)) {
                    const auto i = r->request_id - 1;
                    if (i >= ids.size() || ids[i] != member_id() || r->incarnation != incs[i]) {
                        continue;
                    }
                    if (r->status == membership::request_status::ok) {
                        ids[i] = r->member;
                        ++joined;
                    } else if (r->status == membership::request_status::rejected) {
                        // This incarnation was used up (joined and removed while its answer was
                        // lost): like a real member, try again as a new one.
                        incs[i] = incarnation_number(incs[i].value() + 1'000'000'000ULL);
                        ++rejoins;
                    }
                } else if (const auto* h = std::get_if<membership::heartbeat_reply>(&e->msg)) {
                    removed += h->status == membership::member_status::removed ? 1 : 0;
                }
            }
        }
    };

    // One loop plays every member: a member heartbeats every voter once per interval from the
    // moment its join is answered (so that early joiners are not suspected while the rest join),
    // at offset (i / N) of the interval; unanswered joins are sent again every 5 s. When all have
    // joined (or --join-timeout passes) it prints the join line; the heartbeat phase then lasts
    // --seconds more.
    const auto interval = static_cast<std::int64_t>(interval_ms) * 1'000'000;
    const auto first_sent = bench::mono_ns();
    const auto join_deadline = first_sent + static_cast<std::int64_t>(join_timeout * 1e9);
    auto last_answer = first_sent;
    std::int64_t next_join_round = first_sent;
    std::optional<std::int64_t> end;
    std::vector<std::uint64_t> seq(ids.size(), 0);
    std::uint64_t sent = 0;
    std::size_t next = 0;
    std::int64_t round_start = first_sent;
    while (!end || bench::mono_ns() < *end) {
        auto now = bench::mono_ns();
        if (!end && joined < ids.size() && now >= next_join_round) {
            for (std::size_t i = 0; i < ids.size(); ++i) {
                if (ids[i] != member_id()) {
                    continue;
                }
                const bytes q = bench::envelope(cluster, prefix,
                                                membership::join_request{i + 1, prefix + "-" + std::to_string(i), "", "",
                                                                   incs[i], {}});
                for (std::size_t v = 0; v < endpoints.size(); ++v) {
                    (void)socks[v * static_cast<std::size_t>(sockets) + i % static_cast<std::size_t>(sockets)].send(
                        zmq::buffer(q), zmq::send_flags::dontwait);
                }
            }
            next_join_round = now + 5'000'000'000LL;
        }
        const auto before = joined;
        drain();
        if (joined != before) {
            last_answer = bench::mono_ns();
        }
        if (!end && (joined == ids.size() || now >= join_deadline)) {
            std::printf("joined %zu %lld %lld %zu\n", joined, static_cast<long long>(first_sent),
                        static_cast<long long>(last_answer), rejoins);
            std::fflush(stdout);
            if (join_only) {
                return joined == ids.size() ? 0 : 1;
            }
            end = now + static_cast<std::int64_t>(seconds * 1e9);
        }
        // Everyone due up to now in this round.
        now = bench::mono_ns();
        const auto due = static_cast<std::size_t>(static_cast<double>(now - round_start) / static_cast<double>(interval) *
                                                  static_cast<double>(ids.size()));
        while (next < std::min(due, ids.size())) {
            if (ids[next] != member_id()) {
                const bytes hb = bench::envelope(
                    cluster, prefix, membership::heartbeat{ids[next], incs[next], ++seq[next], view_id(),
                                                          static_cast<std::uint32_t>(interval_ms)},
                    ids[next]);
                for (std::size_t v = 0; v < endpoints.size(); ++v) {
                    (void)socks[v * static_cast<std::size_t>(sockets) + next % static_cast<std::size_t>(sockets)]
                        .send(zmq::buffer(hb), zmq::send_flags::dontwait);
                    ++sent;
                }
            }
            ++next;
        }
        if (next >= ids.size() && now - round_start >= interval) {
            round_start += interval;
            next = 0;
        }
        if (!end || joined == ids.size()) {
            zmq::poll(items.data(), items.size(), std::chrono::milliseconds(1));
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    std::printf("heartbeats %llu\nremoved %zu\n", static_cast<unsigned long long>(sent), removed);
    return 0;
}
