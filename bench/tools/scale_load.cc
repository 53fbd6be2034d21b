// scale_load: plays N members over a few sockets, with the protocol of real members.
//
// Phase 1 (join): sends the N joins (names "<prefix>-<i>") to every voter as fast as it can and
// waits for their answers; prints "joined <n> <first_sent_ns> <last_answer_ns>".
// Phase 2 (heartbeat): every member heartbeats every voter once per --interval-ms, spread evenly
// over the interval, for --seconds; prints "heartbeats <sent>" at the end, and "removed <n>" for
// members a voter said were removed (should be 0).
//
//   scale_load --voters 127.0.0.1:7400,... --members 10000 --interval-ms 1000 --seconds 60
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>

#include "bench/tools/bench_client.hh"

using namespace roster;

int main(int argc, char** argv) {
    CLI::App app{"scale_load: many members over a few sockets"};
    std::string voters, cluster = "roster", prefix = "load";
    int members = 1000, interval_ms = 1000, sockets = 4;
    double seconds = 30;
    bool join_only = false;
    app.add_option("--voters", voters)->required();
    app.add_option("--cluster", cluster);
    app.add_option("--prefix", prefix);
    app.add_option("--members", members);
    app.add_option("--interval-ms", interval_ms);
    app.add_option("--sockets", sockets, "DEALER sockets per voter");
    app.add_option("--seconds", seconds, "heartbeat phase length");
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
    std::size_t joined = 0, removed = 0;

    auto drain = [&] {
        for (auto& s : socks) {
            zmq::message_t m;
            while (s.recv(m, zmq::recv_flags::dontwait)) {
                auto e = bench::open(m);
                if (!e) {
                    continue;
                }
                if (const auto* r = std::get_if<node::join_reply>(&e->msg)) {
                    const auto i = r->request_id - 1;
                    if (r->status == node::request_status::ok && i < ids.size() && ids[i] == member_id()) {
                        ids[i] = r->member;
                        ++joined;
                    }
                } else if (const auto* h = std::get_if<node::heartbeat_reply>(&e->msg)) {
                    removed += h->status == node::member_status::removed ? 1 : 0;
                }
            }
        }
    };

    const auto first_sent = bench::mono_ns();
    auto last_answer = first_sent;
    for (int round = 0; round < 20 && joined < ids.size(); ++round) {
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (ids[i] != member_id()) {
                continue;
            }
            const bytes q = bench::envelope(cluster, prefix,
                                            node::join_request{i + 1, prefix + "-" + std::to_string(i), "", "",
                                                               incarnation_number(inc), {}});
            for (std::size_t v = 0; v < endpoints.size(); ++v) {
                (void)socks[v * static_cast<std::size_t>(sockets) + i % static_cast<std::size_t>(sockets)].send(
                    zmq::buffer(q), zmq::send_flags::dontwait);
            }
        }
        const auto deadline = bench::mono_ns() + 5'000'000'000LL;
        while (joined < ids.size() && bench::mono_ns() < deadline) {
            zmq::poll(items.data(), items.size(), std::chrono::milliseconds(10));
            const auto before = joined;
            drain();
            if (joined != before) {
                last_answer = bench::mono_ns();
            }
        }
    }
    std::printf("joined %zu %lld %lld\n", joined, static_cast<long long>(first_sent),
                static_cast<long long>(last_answer));
    std::fflush(stdout);
    if (join_only) {
        return joined == ids.size() ? 0 : 1;
    }

    // Heartbeats: member i at offset (i / N) of the interval, to every voter.
    const auto interval = static_cast<std::int64_t>(interval_ms) * 1'000'000;
    const auto start = bench::mono_ns();
    const auto end = start + static_cast<std::int64_t>(seconds * 1e9);
    std::vector<std::uint64_t> seq(ids.size(), 0);
    std::uint64_t sent = 0;
    std::size_t next = 0;
    std::int64_t round_start = start;
    while (bench::mono_ns() < end) {
        const auto now = bench::mono_ns();
        // Everyone due up to now in this round.
        const auto due = static_cast<std::size_t>(static_cast<double>(now - round_start) / static_cast<double>(interval) *
                                                  static_cast<double>(ids.size()));
        while (next < std::min(due, ids.size())) {
            if (ids[next] != member_id()) {
                const bytes hb = bench::envelope(
                    cluster, prefix, node::heartbeat{ids[next], incarnation_number(inc), ++seq[next], view_id()},
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
        drain();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::printf("heartbeats %llu\nremoved %zu\n", static_cast<unsigned long long>(sent), removed);
    return 0;
}
