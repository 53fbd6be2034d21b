// commit_probe: commits membership changes one after the other and times them.
//
// Each attempt joins the member "<name>" with the next incarnation (so each replaces the last:
// one view change per attempt, nothing accumulates), sending the request to every voter at once
// (the leader decides, the others forward); the first OK answer ends the attempt. Prints one line
// per attempt: "ok <sent_ns> <answered_ns> <view_id>" or "timeout <sent_ns>", CLOCK_MONOTONIC.
// With --rtt N it first times N status round trips to the first voter ("rtt <ns>").
//
// rosterd admits 20 joins at once from one key (on a plaintext cluster: one connection) and then
// 10 a second (docs/security.md); joins beyond that are dropped. To time commits rather than
// that limit, the probe moves to new connections every 15 attempts, made 15 attempts ahead so
// that they are up when it moves.
//
//   commit_probe --voters 127.0.0.1:7400,... --count 200 [--interval-ms 0] [--timeout-ms 2000]
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>

#include "bench/tools/bench_client.hh"

using namespace roster;

int main(int argc, char** argv) {
    CLI::App app{"commit_probe: time membership commits"};
    std::string voters, cluster = "roster", name = "probe";
    int count = 100, interval_ms = 0, timeout_ms = 2000, rtt = 0;
    std::uint64_t first_incarnation = 0;
    app.add_option("--voters", voters, "listen endpoints of the voters")->required();
    app.add_option("--cluster", cluster);
    app.add_option("--name", name);
    app.add_option("--count", count, "attempts (0: until killed)");
    app.add_option("--interval-ms", interval_ms, "pause between attempts");
    app.add_option("--timeout-ms", timeout_ms, "give up an attempt after this long");
    app.add_option("--rtt", rtt, "first, time this many status round trips to the first voter");
    app.add_option("--first-incarnation", first_incarnation, "default: now in microseconds");
    CLI11_PARSE(app, argc, argv);

    zmq::context_t ctx(1);
    auto connect_all = [&] {
        std::vector<zmq::socket_t> out;
        for (const auto& v : bench::split(voters)) {
            out.push_back(bench::dealer(ctx, v));
        }
        return out;
    };
    std::vector<zmq::socket_t> socks = connect_all();
    std::vector<zmq::socket_t> spare = connect_all();
    std::vector<zmq::pollitem_t> items;
    auto poll_items = [&] {
        items.clear();
        for (auto& s : socks) {
            items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
        }
    };
    poll_items();
    constexpr int joins_per_connection = 15;
    std::uint64_t request = 1;

    for (int i = 0; i < rtt; ++i) {
        const std::uint64_t id = request++;
        const bytes q = bench::envelope(cluster, name, wire::status_request{id});
        const auto sent = bench::mono_ns();
        socks[0].send(zmq::buffer(q), zmq::send_flags::none);
        bool done = false;
        while (!done && bench::mono_ns() - sent < 2'000'000'000) {
            zmq::poll(items.data(), 1, std::chrono::milliseconds(100));
            zmq::message_t m;
            while (socks[0].recv(m, zmq::recv_flags::dontwait)) {
                auto e = bench::open(m);
                if (e && std::holds_alternative<wire::status_reply>(e->msg) &&
                    std::get<wire::status_reply>(e->msg).request_id == id) {
                    std::printf("rtt %lld\n", static_cast<long long>(bench::mono_ns() - sent));
                    done = true;
                }
            }
        }
    }

    std::uint64_t incarnation =
        first_incarnation != 0
            ? first_incarnation
            : static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
    for (int attempt = 0; count == 0 || attempt < count; ++attempt) {
        if (attempt > 0 && attempt % joins_per_connection == 0) {
            for (auto& s : socks) {
                s.set(zmq::sockopt::linger, 0);
            }
            socks = std::move(spare);
            spare = connect_all();
            poll_items();
        }
        const std::uint64_t id = request++;
        ++incarnation;
        const bytes q =
            bench::envelope(cluster, name, membership::join_request{id, name, "", "", incarnation_number(incarnation), {}});
        const auto sent = bench::mono_ns();
        for (auto& s : socks) {
            (void)s.send(zmq::buffer(q), zmq::send_flags::dontwait);
        }
        bool done = false;
        while (!done && bench::mono_ns() - sent < static_cast<std::int64_t>(timeout_ms) * 1'000'000) {
            zmq::poll(items.data(), items.size(), std::chrono::milliseconds(5));
            for (auto& s : socks) {
                zmq::message_t m;
                while (s.recv(m, zmq::recv_flags::dontwait)) {
                    auto e = bench::open(m);
                    if (!e || !std::holds_alternative<membership::join_reply>(e->msg)) {
                        continue;
                    }
                    const auto& r = std::get<membership::join_reply>(e->msg);
                    if (r.request_id == id && r.status != membership::request_status::ok && !r.error.empty()) {
                        // Followers answer "not the leader"; anything else is worth seeing.
                        std::fprintf(stderr, "refused %llu: %s\n", static_cast<unsigned long long>(id),
                                     r.error.c_str());
                    }
                    if (!done && r.request_id == id && r.status == membership::request_status::ok) {
                        std::printf("ok %lld %lld %llu\n", static_cast<long long>(sent),
                                    static_cast<long long>(bench::mono_ns()),
                                    static_cast<unsigned long long>(r.view.value()));
                        done = true;
                    }
                }
            }
        }
        if (!done) {
            std::printf("timeout %lld\n", static_cast<long long>(sent));
        }
        std::fflush(stdout);
        if (interval_ms > 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
        }
    }
    return 0;
}
