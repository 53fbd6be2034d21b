#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/log_sink.hh"

#include "consensus/memory_storage.hh"
#include "consensus/raft.hh"

namespace roster::consensus::testing {

// An in-process cluster of raft voters driven by hand: tick, deliver, cut links, crash and
// restart. Every raft output is handled as the driver contract says: persist, then send, then
// apply. Message delivery is FIFO and instantaneous unless a link is cut or a filter drops it.
class raft_network {
public:
    explicit raft_network(std::size_t voters, std::function<void(raft_config&)> tweak = {},
                          std::uint64_t seed = 1);

    raft& node(voter_id v) { return *_nodes.at(v).r; }
    memory_storage& disk(voter_id v) { return _nodes.at(v).disk; }
    const std::vector<entry>& applied(voter_id v) { return _nodes.at(v).applied; }
    std::vector<voter_id> ids() const;

    // Handles the node's ready (persist, queue messages, apply).
    void process(voter_id v);
    // Processes every node and delivers queued messages until nothing moves (or `max` rounds).
    void settle(int max_rounds = 1000);
    // One tick on the given node (or all), then settle.
    void tick(voter_id v, int times = 1);
    void tick_all(int times = 1);
    // Ticks one node until it starts campaigning, then settles.
    void elect(voter_id v);

    // Cut the link from -> to (one way) or both ways; isolate a node from everyone.
    void cut(voter_id from, voter_id to) { _cut.insert({from, to}); }
    void cut_both(voter_id a, voter_id b) {
        cut(a, b);
        cut(b, a);
    }
    void isolate(voter_id v);
    void heal() { _cut.clear(); }
    // Drops messages for which the filter returns true (in addition to cuts).
    void set_filter(std::function<bool(const message&)> drop) { _filter = std::move(drop); }

    // Loses everything not persisted; the node is down until restart().
    void crash(voter_id v);
    void restart(voter_id v);
    bool up(voter_id v) const { return _nodes.at(v).r != nullptr; }

    // Messages sent by any node, as handed over, in order (including dropped ones).
    const std::vector<message>& sent() const { return _sent; }
    void clear_sent() { _sent.clear(); }
    // The voter that is leader with the highest term, if any.
    std::optional<voter_id> leader() const;

    // Delivers one message directly (bypassing cuts), then settles.
    void deliver(const message& m);

    // What the voters logged at info and above, in order.
    const std::vector<std::string>& log_lines() const { return _log.lines; }

private:
    struct line_sink final : log_sink {
        std::vector<std::string> lines;
        [[nodiscard]] bool enabled(log_level level) const override { return level >= log_level::info; }
        void write(log_level, std::string_view line) override { lines.emplace_back(line); }
    };

    struct voter_slot {
        raft_config config;
        std::unique_ptr<raft> r;
        memory_storage disk;
        std::vector<entry> applied;
        std::uint64_t restarts = 0;
    };

    std::map<voter_id, voter_slot> _nodes;
    std::deque<message> _queue;
    std::set<std::pair<voter_id, voter_id>> _cut;
    std::function<bool(const message&)> _filter;
    std::vector<message> _sent;
    std::uint64_t _seed;
    line_sink _log;
};

} // namespace roster::consensus::testing
