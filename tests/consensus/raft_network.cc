#include "tests/consensus/raft_network.hh"

#include <gtest/gtest.h>

namespace roster::consensus::testing {

raft_network::raft_network(std::size_t voters, std::function<void(raft_config&)> tweak, std::uint64_t seed)
    : _seed(seed) {
    std::vector<voter_id> all;
    for (std::uint32_t i = 1; i <= voters; ++i) {
        all.emplace_back(i);
    }
    for (voter_id v : all) {
        voter_slot n;
        n.config.id = v;
        n.config.voters = all;
        if (tweak) {
            tweak(n.config);
        }
        n.r = std::make_unique<raft>(n.config, prng(seed * 1000 + v.value()), persisted_state{}, &_log);
        _nodes.emplace(v, std::move(n));
    }
}

std::vector<voter_id> raft_network::ids() const {
    std::vector<voter_id> out;
    for (const auto& [v, n] : _nodes) {
        out.push_back(v);
    }
    return out;
}

void raft_network::process(voter_id v) {
    voter_slot& n = _nodes.at(v);
    if (!n.r || !n.r->has_ready()) {
        return;
    }
    ready rd = n.r->take_ready();
    for (auto& m : rd.early_messages) {
        _sent.push_back(m);
        _queue.push_back(std::move(m));
    }
    ASSERT_FALSE(n.disk.save(rd));
    for (auto& m : rd.messages) {
        _sent.push_back(m);
        _queue.push_back(std::move(m));
    }
    if (rd.apply_snapshot) {
        // The test state machine is the list of applied entries; a snapshot stands for all of
        // them up to its index, which the test can compare through the leader's log.
        n.applied.clear();
    }
    for (auto& e : rd.committed) {
        n.applied.push_back(std::move(e));
    }
}

void raft_network::settle(int max_rounds) {
    for (int round = 0; round < max_rounds; ++round) {
        for (const auto& [v, n] : _nodes) {
            process(v);
        }
        if (_queue.empty()) {
            return;
        }
        std::deque<message> batch;
        batch.swap(_queue);
        for (auto& m : batch) {
            if (_cut.count({m.from, m.to}) || (_filter && _filter(m))) {
                continue;
            }
            voter_slot& to = _nodes.at(m.to);
            if (to.r) {
                to.r->step(m);
            }
        }
    }
}

void raft_network::deliver(const message& m) {
    voter_slot& to = _nodes.at(m.to);
    if (to.r) {
        to.r->step(m);
    }
    settle();
}

void raft_network::tick(voter_id v, int times) {
    for (int i = 0; i < times; ++i) {
        if (_nodes.at(v).r) {
            _nodes.at(v).r->tick();
        }
        settle();
    }
}

void raft_network::tick_all(int times) {
    for (int i = 0; i < times; ++i) {
        for (auto& [v, n] : _nodes) {
            if (n.r) {
                n.r->tick();
            }
        }
        settle();
    }
}

void raft_network::elect(voter_id v) {
    raft& r = node(v);
    const auto pre = r.counters().pre_elections + r.counters().elections;
    for (int i = 0; i < 1000 && r.counters().pre_elections + r.counters().elections == pre; ++i) {
        r.tick();
    }
    settle();
}

void raft_network::isolate(voter_id v) {
    for (const auto& [other, n] : _nodes) {
        if (other != v) {
            cut_both(v, other);
        }
    }
}

void raft_network::crash(voter_id v) {
    voter_slot& n = _nodes.at(v);
    n.r.reset();
    n.applied.clear();
    std::erase_if(_queue, [&](const message& m) { return m.to == v || m.from == v; });
}

void raft_network::restart(voter_id v) {
    voter_slot& n = _nodes.at(v);
    ++n.restarts;
    n.r = std::make_unique<raft>(n.config, prng(_seed * 1000 + v.value() + 100 * n.restarts),
                                 n.disk.recovered(), &_log);
    settle();
}

std::optional<voter_id> raft_network::leader() const {
    std::optional<voter_id> best;
    raft_term best_term;
    for (const auto& [v, n] : _nodes) {
        if (n.r && n.r->role() == role::leader && (!best || n.r->term() > best_term)) {
            best = v;
            best_term = n.r->term();
        }
    }
    return best;
}

} // namespace roster::consensus::testing
