// fanout_sub: many subscribers in one process. Opens --sockets SUB sockets to one publish
// endpoint and records, for every ViewChange, when each socket received it (CLOCK_MONOTONIC).
// Runs for --seconds, then prints one line per view: "view <id> <receivers> <first_ns> <p50_ns>
// <p99_ns> <last_ns>". ZeroMQ does not say when a SUB socket is connected; the orchestrator
// counts a view as measured only when it reached every socket.
#include <algorithm>
#include <cstdio>
#include <map>

#include <CLI/CLI.hpp>

#include "bench/tools/bench_client.hh"

using namespace roster;

int main(int argc, char** argv) {
    CLI::App app{"fanout_sub: many SUB sockets, arrival time of every view at each"};
    std::string publish;
    int sockets = 250;
    double seconds = 10;
    app.add_option("--publish", publish, "HOST:PORT of a rosterd's --publish")->required();
    app.add_option("--sockets", sockets);
    app.add_option("--seconds", seconds);
    CLI11_PARSE(app, argc, argv);

    zmq::context_t ctx(2);
    std::vector<zmq::socket_t> subs;
    std::vector<zmq::pollitem_t> items;
    for (int i = 0; i < sockets; ++i) {
        subs.emplace_back(ctx, zmq::socket_type::sub);
        subs.back().set(zmq::sockopt::linger, 0);
        subs.back().set(zmq::sockopt::subscribe, "");
        subs.back().connect("tcp://" + publish);
    }
    for (auto& s : subs) {
        items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
    }
    std::map<std::uint64_t, std::vector<std::int64_t>> arrivals;
    const auto end = bench::mono_ns() + static_cast<std::int64_t>(seconds * 1e9);
    while (bench::mono_ns() < end) {
        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(20));
        const auto now = bench::mono_ns();
        for (std::size_t i = 0; i < subs.size(); ++i) {
            if (!(items[i].revents & ZMQ_POLLIN)) {
                continue;
            }
            zmq::message_t m;
            while (subs[i].recv(m, zmq::recv_flags::dontwait)) {
                auto e = bench::open(m);
                if (e && std::holds_alternative<views::view_change>(e->msg)) {
                    arrivals[std::get<views::view_change>(e->msg).id.value()].push_back(now);
                }
            }
        }
    }
    for (auto& [view, t] : arrivals) {
        std::sort(t.begin(), t.end());
        std::printf("view %llu %zu %lld %lld %lld %lld\n", static_cast<unsigned long long>(view), t.size(),
                    static_cast<long long>(t.front()), static_cast<long long>(t[t.size() / 2]),
                    static_cast<long long>(t[std::min(t.size() - 1, t.size() * 99 / 100)]),
                    static_cast<long long>(t.back()));
    }
    return 0;
}
